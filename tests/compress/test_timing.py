"""Timing: interleaved rounds, medians, and the same thread count for ONNX and PyTorch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from compress_helpers import random_inputs

from kiln.compress import export_onnx
from kiln.compress.timing import (
    THROUGHPUT_BATCH,
    Timer,
    batches,
    measure_all,
    onnx_timer,
    torch_timer,
)
from kiln.model.signature import Signature


def test_rounds_interleave_targets() -> None:
    order: list[str] = []

    def fake(name: str) -> Timer:
        return Timer(lambda feed: order.append(name), [1], [64], threads=1)

    timings = measure_all({"a": fake("a"), "b": fake("b")}, budget_s=0.0, rounds=3)
    calls = [name for k, name in enumerate(order) if k == 0 or order[k - 1] != name]
    assert calls[-6:] == ["a", "b", "a", "b", "a", "b"]  # round-robin, after the warm-ups
    assert set(timings) == {"a", "b"} and timings["a"].throughput_per_s > 0


def test_batches_cycle_over_rows() -> None:
    inputs = {"x": np.arange(5)}
    cut = batches(inputs, 3, 3)
    assert [list(b["x"]) for b in cut] == [[0, 1, 2], [3, 4, 0], [1, 2, 3]]


def test_onnx_and_torch_timers(mlp: tuple[Any, Signature], tmp_path: Path) -> None:
    model, signature = mlp
    path = export_onnx(model, signature, tmp_path / "m.onnx")
    inputs = random_inputs(signature, 100)
    threads_before = torch.get_num_threads()
    timers = {"onnx": onnx_timer(path, inputs, threads=1),
              "torch": torch_timer(model, inputs, signature.input_names, threads=1)}
    timings = measure_all(timers, budget_s=0.05, rounds=2)
    for timing in timings.values():
        assert 0 < timing.p50_ms <= timing.p99_ms and timing.threads == 1
        assert timing.throughput_per_s > 0
    assert len(timers["onnx"].batched[0]["tabular"]) == THROUGHPUT_BATCH
    assert torch.get_num_threads() == threads_before  # restored after timing
