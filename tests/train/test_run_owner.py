"""A `running` run whose process is gone shows as `interrupted`; resume says where it goes on."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from train_helpers import load_tiny

from kiln.runs import load_run
from kiln.runs.owner import owner_alive, process_owner
from kiln.train import train


def dead_owner() -> dict[str, object]:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return {**process_owner(), "pid": child.pid, "start": "0"}


def test_owner_liveness() -> None:
    assert owner_alive(process_owner())
    assert not owner_alive(dead_owner())
    assert owner_alive({**process_owner(), "start": "1"}) is False  # a recycled pid
    assert owner_alive({"host": "another-host", "pid": 1})  # cannot know: still running
    assert owner_alive(None)  # a run written before owners were recorded


def test_a_killed_run_is_listed_as_interrupted(
        tmp_path: Path, kiln_cli: Callable[..., tuple[int, str, str]]) -> None:
    run = train(load_tiny(tmp_path, epochs=1), quiet=True, tracking=False)
    assert run.info["owner"]["pid"] > 0
    info = json.loads((run.dir / "run.json").read_text())
    info.update(status="running", owner=dead_owner())  # what a SIGKILL leaves behind
    (run.dir / "run.json").write_text(json.dumps(info))
    assert load_run(run.id).status == "interrupted"
    code, out, _ = kiln_cli("runs")
    assert code == 0 and "interrupted" in out and "…" not in out
    code, out, _ = kiln_cli("runs", "--json")
    assert json.loads(out.strip().splitlines()[-1])["runs"][0]["status"] == "interrupted"


def test_resume_prints_where_it_picks_up(capsys: pytest.CaptureFixture[str]) -> None:
    from kiln.train.progress import make_progress

    progress = make_progress(quiet=False)
    progress.start(epochs=5, first_epoch=3, steps=10)
    progress.close()
    err = " ".join(capsys.readouterr().err.split())
    assert "train: resuming from epoch 3 of 5 (checkpoint after epoch 2)" in err
