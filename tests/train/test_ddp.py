"""`kiln train --nproc 2`: DistributedDataParallel on CPU (gloo) under torchrun.

The digits CNN trains on two ranks like on one; rank 0 alone writes; a DDP run killed
mid-way resumes bit-for-bit; a rank that dies ends the job with a clear error, not a hang.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from train_helpers import without_time

from kiln.blueprint import load_blueprint
from kiln.train import load_run, train

# Accuracy of the 2-rank run against the 1-process run after the same epochs. The two take
# different steps (per-rank batch-norm statistics and dropout streams), so the figures are
# close, not equal: at 3 epochs on digits both land near 0.96 and differ by about 0.01.
TOLERANCE = 0.05
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def digits(folder: Path, epochs: int) -> Path:
    """examples/digits_cnn.yaml with fewer epochs and one thread (sklearn:digits needs no
    relative path)."""
    spec = yaml.safe_load((EXAMPLES / "digits_cnn.yaml").read_text())
    spec["training"]["epochs"] = epochs
    spec["training"]["threads"] = 1  # a thread per process: the suite shares its cores
    spec["training"]["checkpoint_every"] = 1  # the kill tests wait for a given epoch's
    path = folder / "digits.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def kiln_process(*args: str, home: Path) -> subprocess.Popen[str]:
    scratch = home.parent / "tmp"  # a killed launcher leaves its job folder: keep it here
    scratch.mkdir(exist_ok=True)
    env = {**os.environ, "KILN_HOME": str(home), "TMPDIR": str(scratch)}
    return subprocess.Popen([sys.executable, "-c", "from kiln.cli import main; main()", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)


def processes_of(home: Path, rank: str | None = None) -> list[int]:
    """Pids of the processes started for this test's KILN_HOME (the launcher and its ranks),
    or only the rank `rank`."""
    wanted = f"KILN_HOME={home}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if wanted in environ and (rank is None or f"RANK={rank}".encode() in environ):
            found.append(int(entry.name))
    return found


def wait_for_checkpoint(home: Path, epoch: int, proc: subprocess.Popen[str]) -> str:
    """The run id once its checkpoint of `epoch` is on disk."""
    from kiln.errors import RunError
    from kiln.train.checkpoint import load_checkpoint

    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        runs = list((home / "runs").glob("*/checkpoints"))
        if runs:
            try:
                if load_checkpoint(runs[0])["epoch"] >= epoch:
                    return runs[0].parent.name
            except RunError:
                pass
        time.sleep(0.05)
    raise AssertionError(f"no checkpoint of epoch {epoch} within 240 s")


def files_of(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


@pytest.mark.slow
def test_two_ranks_train_the_digits_cnn_like_one_process(tmp_path: Path, kiln_home: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    import tempfile

    scratch = tmp_path / "tmp"  # where the launcher's and torchrun's temporary files go
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    bp = load_blueprint(digits(tmp_path, epochs=3))
    handler, environ = signal.getsignal(signal.SIGTERM), dict(os.environ)
    ddp = train(bp, nproc=2, quiet=True)
    # torchrun's agent ran in this process: its signal handlers and OMP_NUM_THREADS are undone.
    assert signal.getsignal(signal.SIGTERM) == handler and dict(os.environ) == environ
    assert ddp.status == "finished"
    assert ddp.info["distributed"] == {"world_size": 2, "nproc_per_node": 2, "nnodes": 1,
                                       "backend": "gloo"}
    assert [h["epoch"] for h in ddp.metrics["history"]] == [1, 2, 3]
    # Rank 0 alone wrote: one run directory, one MLflow run, nothing else in KILN_HOME.
    assert [p.name for p in (kiln_home / "runs").iterdir()] == [ddp.id]
    assert sorted(p.name for p in kiln_home.iterdir()) == ["mlartifacts", "mlflow.db", "runs"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digits.yaml", "kiln-runs", "tmp"]
    assert not list(scratch.iterdir())  # nothing left behind: no job folder, no torchrun logs

    single = train(bp, quiet=True)
    assert files_of(ddp.dir) == files_of(single.dir)
    for split in ("val", "test"):
        assert abs(ddp.metrics[split]["accuracy"] - single.metrics[split]["accuracy"]) \
            <= TOLERANCE, (split, ddp.metrics[split], single.metrics[split])
    assert ddp.metrics["val"]["accuracy"] > 0.85

    from mlflow.tracking import MlflowClient

    from kiln.tracking import tracking_uri

    client = MlflowClient(tracking_uri())
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert sorted(r.info.run_id for r in runs) == sorted(
        [ddp.info["mlflow_run_id"], single.info["mlflow_run_id"]])
    history = client.get_metric_history(ddp.info["mlflow_run_id"], "val.accuracy")
    assert sorted(m.step for m in history) == [1, 2, 3]


@pytest.mark.slow
def test_a_killed_ddp_job_resumes_from_its_last_checkpoint(tmp_path: Path,
                                                           kiln_home: Path) -> None:
    path = digits(tmp_path, epochs=4)
    job = kiln_process("train", str(path), "--nproc", "2", "--quiet", "--json",
                       home=kiln_home)
    run_id = wait_for_checkpoint(kiln_home, 2, job)
    for pid in processes_of(kiln_home):  # the launcher and both ranks, as a crash would
        os.kill(pid, signal.SIGKILL)
    job.communicate(timeout=60)
    run = load_run(run_id)
    deadline = time.monotonic() + 30  # the killed ranks are reaped by init, not by us
    while run.status == "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    assert run.status == "interrupted" and not (run.dir / "metrics.json").exists()

    # No --nproc: a run trained on 2 local ranks resumes on 2.
    resumed = kiln_process("train", "--resume", run_id, "--quiet", "--json", home=kiln_home)
    out, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["run_id"] == run_id and summary["status"] == "finished"
    run = load_run(run_id)
    assert run.info["resumed"][0]["epoch"] >= 2 and run.info["resumed"][0]["world_size"] == 2
    assert [h["epoch"] for h in run.metrics["history"]] == [1, 2, 3, 4]

    # The same two ranks without the kill end with the very same metrics and weights.
    full = train(load_blueprint(path), nproc=2, quiet=True)
    assert without_time(run.metrics) == without_time(full.metrics)
    assert (run.dir / "weights.safetensors").read_bytes() == \
        (full.dir / "weights.safetensors").read_bytes()


@pytest.mark.slow
def test_a_rank_that_dies_ends_the_job_with_a_clear_error(tmp_path: Path,
                                                          kiln_home: Path) -> None:
    job = kiln_process("train", str(digits(tmp_path, epochs=200)), "--nproc", "2", "--quiet",
                       "--json", home=kiln_home)
    run_id = wait_for_checkpoint(kiln_home, 1, job)
    (victim,) = processes_of(kiln_home, rank="1")
    os.kill(victim, signal.SIGKILL)
    started = time.monotonic()
    out, _ = job.communicate(timeout=120)
    assert time.monotonic() - started < 60  # torchrun stops the job; nothing waits for it
    assert job.returncode != 0
    failure = json.loads(out.strip().splitlines()[-1])
    assert failure["kind"] == "training" and failure["where"] == "rank 1"
    assert f"rank 1 (pid {victim}) was killed by SIGKILL" in failure["error"]
    assert f"kiln train --resume {run_id} --nproc N" in failure["error"]
    assert not processes_of(kiln_home)  # no rank is left behind
    assert load_run(run_id).status in ("failed", "interrupted")


@pytest.mark.slow
def test_two_nodes_meet_through_torchruns_rendezvous_flags(tmp_path: Path,
                                                           kiln_home: Path) -> None:
    """Two launchers on this machine stand for two nodes of one process each."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    path = digits(tmp_path, epochs=2)
    nodes = [kiln_process("train", str(path), "--nproc", "1", "--nnodes", "2",
                          "--rdzv-endpoint", f"127.0.0.1:{port}", "--rdzv-id", "two-nodes",
                          "--quiet", "--json", home=kiln_home) for _ in range(2)]
    outputs = [node.communicate(timeout=300) for node in nodes]
    assert [node.returncode for node in nodes] == [0, 0], [err[-2000:] for _, err in outputs]
    summaries = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    written = [s for s in summaries if s["run_id"] is not None]
    assert len(written) == 1 and written[0]["status"] == "finished"  # rank 0's node
    run = load_run(written[0]["run_id"])
    assert run.info["distributed"] == {"world_size": 2, "nproc_per_node": 1, "nnodes": 2,
                                       "backend": "gloo"}
    assert [p.name for p in (kiln_home / "runs").iterdir()] == [run.id]
