"""One forward pass gives the same validation figures as scoring and the loss apart; the
checkpoint writer snapshots the state before training moves on."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
import torch
from train_helpers import load_tiny

from kiln.train import checkpoint
from kiln.train.checkpoint import CheckpointWriter, load_checkpoint, snapshot
from kiln.train.inference import score_split
from kiln.train.selection import split_loss
from kiln.train.session import make_loop, prepare
from kiln.train.validation import validate_split


def test_one_pass_matches_scoring_and_loss_apart(tmp_path: Path) -> None:
    blueprint = load_tiny(tmp_path, epochs=1)
    data = prepare(blueprint)
    loop = make_loop(blueprint, data, quiet=True, epoch_callback=None, distill=None)
    loop.train_epoch()
    apart = score_split(loop.model, data.val, data.preprocessor, data.signature, blueprint.task)
    apart["loss"] = split_loss(loop.model, loop.loss, data.val, data.signature, loop.device)
    loop.model.train()  # score_split left it in eval mode
    together = validate_split(loop.model, loop.loss, data.val, data.preprocessor,
                              data.signature, blueprint.task, loop.device, batch_size=7)
    assert together == pytest.approx(apart, rel=1e-6)
    assert loop.model.training  # the mode it had is restored
    assert validate_split(loop.model, loop.loss, data.val, data.preprocessor, data.signature,
                          blueprint.task, loop.device) == apart  # same batches: identical


def test_snapshot_is_independent_of_the_live_state() -> None:
    live = torch.ones(3)
    payload: dict[str, Any] = {"model": {"w": live}, "history": [{"epoch": 1}], "t": (live,)}
    frozen = snapshot(payload)
    live.add_(1.0)
    payload["history"].append({"epoch": 2})
    assert torch.equal(frozen["model"]["w"], torch.ones(3))
    assert torch.equal(frozen["t"][0], torch.ones(3)) and frozen["history"] == [{"epoch": 1}]


def test_the_writer_saves_the_state_at_submit_time(monkeypatch: pytest.MonkeyPatch,
                                                   tmp_path: Path) -> None:
    release = threading.Event()
    write = checkpoint.write_checkpoint

    def held_write(directory: Path, data: bytes) -> Path:
        assert release.wait(30)
        return write(directory, data)

    monkeypatch.setattr(checkpoint, "write_checkpoint", held_write)
    weight = torch.zeros(4)
    writer = CheckpointWriter(tmp_path)
    writer.submit({"epoch": 1, "model": {"w": weight}})
    weight.add_(5.0)  # the next training step, while the write is still pending
    release.set()
    writer.close()
    saved = load_checkpoint(tmp_path)
    assert saved["epoch"] == 1 and torch.equal(saved["model"]["w"], torch.zeros(4))
