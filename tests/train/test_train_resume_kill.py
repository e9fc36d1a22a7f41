"""`kiln train --resume` after SIGKILL ends with exactly the uninterrupted run's metrics."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from train_helpers import tiny_blueprint, without_time

from kiln.train import load_run, train
from kiln.train.loop import KILL_AFTER_EPOCH


def kiln(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from kiln.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, timeout=300, check=False)


@pytest.mark.slow
def test_sigkill_then_resume_is_bit_for_bit(tmp_path: Path, kiln_home: Path) -> None:
    path = tiny_blueprint(tmp_path, epochs=5, scheduler="cosine", optimizer="sgd",
                          class_weights="balanced")
    env = {**os.environ, "KILN_HOME": str(kiln_home), KILL_AFTER_EPOCH: "2"}
    killed = kiln("train", str(path), "--quiet", env=env)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run = load_run("latest")
    assert run.status == "interrupted"  # run.json says running; its process is gone
    assert not (run.dir / "metrics.json").exists()

    del env[KILL_AFTER_EPOCH]
    resumed = kiln("train", "--resume", run.id, "--quiet", "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert summary["run_id"] == run.id and summary["status"] == "finished"

    from kiln.blueprint import load_blueprint

    full = train(load_blueprint(path), quiet=True)
    assert without_time(load_run(run.id).metrics) == without_time(full.metrics)
    assert (run.dir / "weights.safetensors").read_bytes() == \
        (full.dir / "weights.safetensors").read_bytes()

    # MLflow saw all five epochs, the two before the kill and the three after.
    from mlflow.tracking import MlflowClient

    from kiln.tracking import tracking_uri

    history = MlflowClient(tracking_uri()).get_metric_history(summary["mlflow_run_id"],
                                                              "val.accuracy")
    assert sorted(m.step for m in history) == [1, 2, 3, 4, 5]
    assert MlflowClient(tracking_uri()).get_run(summary["mlflow_run_id"]).info.status == \
        "FINISHED"
