"""`training.compile`: torch.compile for the training forward, eager when it fails."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
from train_helpers import load_tiny

from kiln.train import compiled, train
from kiln.train.compiled import CompileFallbackWarning, TrainingForward
from kiln.train.session import make_loop, prepare


def failing_backend(graph: Any, example_inputs: Any) -> Callable[..., Any]:
    raise RuntimeError("no code generator for this graph")


def test_a_failing_compile_warns_and_trains_eagerly(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    monkeypatch.setattr(compiled, "BACKEND", failing_backend)  # a real dynamo failure
    blueprint = load_tiny(tmp_path, compile=True, epochs=2)
    data = prepare(blueprint)
    loop = make_loop(blueprint, data, quiet=True, epoch_callback=None, distill=None)
    assert loop.forward.is_compiled
    with pytest.warns(CompileFallbackWarning, match=r"torch.compile failed.*no code generator"
                                                    r".*eager mode"):
        loop.run()
    assert not loop.forward.is_compiled
    assert "no code generator" in str(loop.forward.error)
    assert len(loop.history) == 2 and loop.history[-1]["val"]["accuracy"] > 0.4


def test_an_eager_error_is_not_taken_for_a_compile_failure() -> None:
    calls: list[str] = []

    def broken_step() -> None:
        calls.append("step")
        raise ValueError("a bug in the model")

    forward = TrainingForward(torch.nn.Linear(2, 2), compile=False)
    with pytest.raises(ValueError, match="a bug in the model"):
        forward.attempt(broken_step)
    assert calls == ["step"]


def test_compile_on_cpu_trains_like_eager(monkeypatch: pytest.MonkeyPatch,
                                          tmp_path: Path) -> None:
    # aot_eager: dynamo's graph capture and AOTAutograd without Inductor's C++ build.
    monkeypatch.setattr(compiled, "BACKEND", "aot_eager")
    torch._dynamo.reset()
    folders = [tmp_path / "eager", tmp_path / "compiled"]
    for folder in folders:
        folder.mkdir()
    eager = train(load_tiny(folders[0], epochs=3), quiet=True, tracking=False)
    fast = train(load_tiny(folders[1], epochs=3, compile=True), quiet=True, tracking=False)
    a, b = eager.metrics["history"], fast.metrics["history"]
    assert len(a) == len(b) == 3
    for x, y in zip(a, b, strict=True):  # fused graphs may round differently
        assert y["train_loss"] == pytest.approx(x["train_loss"], rel=1e-4, abs=1e-6)
