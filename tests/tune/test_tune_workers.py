"""Real training, real processes, a real PostgreSQL server: workers sharing one study."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

KILN = [sys.executable, "-c", "from kiln.cli import main; main()"]


def kiln_tune(blueprint: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([*KILN, "tune", str(blueprint), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=os.environ.copy())


def finish(proc: subprocess.Popen[str], timeout: float = 240) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    payload: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return payload


def load(storage: str, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=storage)


@pytest.mark.slow
def test_two_workers_on_one_postgres_study(postgres_db: str, postgres_server: str,
                                           tiny_search: Any, write_blueprint: Any,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """Two `kiln tune` processes (as on two machines) on one PostgreSQL study: every trial
    recorded once, trial numbers unique, the best value consistent, runs nested in MLflow."""
    import psycopg2

    conn = psycopg2.connect(f"{postgres_server}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{Path(postgres_db).name}_mlflow"')
    conn.close()
    tracking = f"{postgres_db}_mlflow"
    monkeypatch.setenv("KILN_TRACKING_URI", tracking)
    from kiln.tracking import client

    client().search_experiments()  # create MLflow's tables once, before two writers race
    path = write_blueprint(tiny_search(trials=6, sampler="random", heartbeat_s=1, grace_s=3))
    args = ("--storage", postgres_db, "--study", "shared", "--json")
    procs = [kiln_tune(path, *args), kiln_tune(path, *args)]
    results = [finish(p) for p in procs]

    study = load(postgres_db, "shared")
    trials = study.get_trials(deepcopy=False)
    numbers = [t.number for t in trials]
    assert numbers == list(range(len(trials)))  # unique, no gaps
    assert len({t._trial_id for t in trials}) == len(trials)
    states = [t.state for t in trials]
    assert all(s in (TrialState.COMPLETE, TrialState.PRUNED) for s in states)
    assert 6 <= len(trials) <= 7  # a trial already running when the 6th ended may finish
    workers = {t.user_attrs["worker"] for t in trials}
    assert len(workers) == 2  # both processes ran trials
    best = [r["best_value"] for r in results]
    assert max(best) == pytest.approx(study.best_value)
    assert all(r["study"] == "shared" for r in results)

    from kiln.runs.run import load_run

    parent = study.user_attrs["mlflow_parent_run_id"]
    mlflow = client()
    for t in trials:
        if "run_id" in t.user_attrs:
            mlflow_id = load_run(t.user_attrs["run_id"]).info["mlflow_run_id"]
            assert mlflow.get_run(mlflow_id).data.tags["mlflow.parentRunId"] == parent


@pytest.mark.slow
def test_killed_worker_leaves_its_trial_failed(postgres_db: str, tiny_search: Any,
                                               write_blueprint: Any) -> None:
    raw = tiny_search(trials=3, sampler="random", heartbeat_s=1, grace_s=2)
    raw["training"]["epochs"] = 200  # long enough to be caught (and killed) mid-trial
    raw["training"]["early_stopping"] = {"patience": None}
    path = write_blueprint(raw)
    worker = kiln_tune(path, "--worker", "--worker-trials", "3", "--storage", postgres_db,
                       "--study", "kill", "--no-tracking", "--quiet")
    victim = None
    deadline = time.monotonic() + 120
    while victim is None and time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            running = load(postgres_db, "kill").get_trials(states=(TrialState.RUNNING,))
        except KeyError:  # the study does not exist yet
            continue
        victim = next((t for t in running
                       if t.user_attrs.get("worker", "").endswith(f":{worker.pid}")), None)
    assert victim is not None, "the worker never started a trial"
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    assert load(postgres_db, "kill").trials[victim.number].state == TrialState.RUNNING
    time.sleep(3)  # past the grace period (2 s): the heartbeat is stale
    # What every worker does before its next trial, and `kiln tune` when it opens a study:
    from kiln.tune.settings import SearchSettings
    from kiln.tune.study import fail_stale, open_storage

    storage = open_storage(postgres_db, SearchSettings(heartbeat_s=1, grace_s=2))
    fail_stale(optuna.load_study(study_name="kill", storage=storage))
    study = load(postgres_db, "kill")
    assert study.trials[victim.number].state == TrialState.FAIL
    assert not study.get_trials(states=(TrialState.RUNNING,))

    from kiln.tune.results import row_of

    assert row_of(study.trials[victim.number]).note.startswith("worker stopped (no heartbeat)")
