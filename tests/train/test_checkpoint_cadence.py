"""How often checkpoints are written: every N epochs, or `auto` by the cost of a write."""

from __future__ import annotations

import time
from pathlib import Path

import torch

from kiln.train.checkpoint import AUTO_BUDGET, CheckpointWriter, load_checkpoint


def state(epoch: int) -> dict[str, object]:
    return {"epoch": epoch, "model": {"w": torch.full((3,), float(epoch))}}


def written(folder: Path) -> int:
    return int(load_checkpoint(folder)["epoch"])


def test_every_n_epochs_writes_those_and_the_last(tmp_path: Path) -> None:
    writer = CheckpointWriter(tmp_path, every=3)
    seen = []
    for epoch in range(1, 8):
        writer.submit(state(epoch), final=epoch == 7)
        writer.wait()
        seen.append(written(tmp_path) if (tmp_path / "last.pt").exists() else None)
    writer.close()
    assert seen == [None, None, 3, 3, 3, 6, 7]


def test_auto_writes_the_first_epoch_then_waits_until_training_outweighs_the_write(
        tmp_path: Path) -> None:
    writer = CheckpointWriter(tmp_path, every="auto")
    writer.submit(state(1))
    writer.wait()
    assert written(tmp_path) == 1 and writer.cost > 0
    writer.cost = 10.0  # a write as dear as 10 s: the next one waits 100 × that
    for epoch in (2, 3):
        writer.submit(state(epoch))
    writer.wait()
    assert written(tmp_path) == 1
    writer.flush()  # an interrupted run: the last finished epoch is written
    writer.wait()
    assert written(tmp_path) == 3
    writer.cost = 1e-3
    time.sleep(AUTO_BUDGET * 1e-3)
    writer.submit(state(4))
    writer.close()
    assert written(tmp_path) == 4


def test_the_final_epoch_is_always_written(tmp_path: Path) -> None:
    writer = CheckpointWriter(tmp_path, every="auto")
    writer.submit(state(1))
    writer.wait()
    writer.cost = 10.0
    writer.submit(state(2), final=True)
    writer.close()
    assert written(tmp_path) == 2
