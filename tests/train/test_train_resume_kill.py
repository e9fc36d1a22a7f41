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

# Trains the blueprint in this child process and SIGKILLs it from the epoch callback once
# the checkpoint of epoch KILL_AT is on disk: what a crash right after a checkpoint leaves.
KILLED_TRAINING = """
import os, signal, sys, time
from pathlib import Path
from kiln.blueprint import load_blueprint
from kiln.runs import load_run
from kiln.train import train
from kiln.train.checkpoint import load_checkpoint
from kiln.errors import RunError

KILL_AT = int(sys.argv[2])

def kill_after(epoch, _metrics):
    if epoch < KILL_AT:
        return
    folder = load_run("latest").dir / "checkpoints"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if load_checkpoint(folder)["epoch"] >= KILL_AT:
                break
        except RunError:
            pass
        time.sleep(0.01)
    os.kill(os.getpid(), signal.SIGKILL)

train(load_blueprint(sys.argv[1]), quiet=True, epoch_callback=kill_after)
"""


def kiln(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from kiln.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, timeout=300, check=False)


@pytest.mark.slow
def test_sigkill_then_resume_is_bit_for_bit(tmp_path: Path, kiln_home: Path) -> None:
    path = tiny_blueprint(tmp_path, epochs=5, scheduler="cosine", optimizer="sgd",
                          class_weights="balanced", checkpoint_every=1)
    env = {**os.environ, "KILN_HOME": str(kiln_home)}
    killed = subprocess.run([sys.executable, "-c", KILLED_TRAINING, str(path), "2"],
                            capture_output=True, text=True, env=env, timeout=300, check=False)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run = load_run("latest")
    assert run.status == "interrupted"  # run.json says running; its process is gone
    assert not (run.dir / "metrics.json").exists()

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
