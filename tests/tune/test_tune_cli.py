"""`kiln tune` end to end: two local workers on the default SQLite study, real training,
MLflow parent and nested runs, the table, and a best blueprint that `kiln train` accepts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest


@pytest.mark.slow
def test_kiln_tune_with_two_local_workers(tiny_search: Any, write_blueprint: Any,
                                          kiln_home: Path) -> None:
    # No pruning: which trial a median pruner stops depends on which of the two workers
    # finishes first, and a pruned trial has an MLflow run but no trained run_id.
    path = write_blueprint(tiny_search(trials=4, sampler="random", pruner="none"))
    proc = subprocess.run(
        [sys.executable, "-c", "from kiln.cli import main; main()", "tune", str(path),
         "--workers", "2"], capture_output=True, text=True, timeout=400)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "tune · tiny_search" in proc.stdout
    assert "best: trial" in proc.stdout
    assert proc.stderr.count("trial ") >= 4  # one progress line per trial, from the workers

    study = optuna.load_study(study_name="tiny_search",
                              storage=f"sqlite:///{kiln_home}/optuna.db")
    trials = study.get_trials()
    assert len({t.user_attrs["worker"] for t in trials}) == 2
    assert [t.number for t in trials] == list(range(len(trials)))

    from kiln.runs.run import load_run
    from kiln.tracking import client

    mlflow = client()
    parent_id = study.user_attrs["mlflow_parent_run_id"]
    parent = mlflow.get_run(parent_id)
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["kiln.kind"] == "study"
    best_run = load_run(parent.data.tags["kiln.best_run_id"])
    assert best_run.id == study.best_trial.user_attrs["run_id"]
    assert (best_run.dir / "weights.safetensors").exists()  # the best trial's weights kept
    children = mlflow.search_runs([parent.info.experiment_id],
                                  filter_string=f"tags.mlflow.parentRunId = '{parent_id}'")
    trained = [t for t in trials if "run_id" in t.user_attrs]
    assert len(children) == len(trained)
    best_child = mlflow.get_run(best_run.info["mlflow_run_id"])
    assert best_child.data.tags["kiln.best_trial"] == "true"

    from kiln.blueprint import load_blueprint
    from kiln.train.stage import train

    best = load_blueprint(kiln_home / "tune" / "tiny_search" / "best.yaml")
    run = train(best, quiet=True, tracking=False)  # what `kiln train best.yaml` does
    assert run.metrics["val"]["accuracy"] == pytest.approx(study.best_value)


def test_cv_objective_is_the_mean_over_folds(tiny_search: Any) -> None:
    from kiln.runs.run import load_run
    from kiln.tune import TuneOptions, tune

    raw = tiny_search(trials=1)
    raw["training"]["epochs"] = 1
    result = tune(raw, TuneOptions(cv=2, tracking=False, quiet=True))
    run = load_run(str(result.best_run_id))
    assert run.metrics["cv"]["k"] == 2
    assert result.best_values == [pytest.approx(run.metrics["cv"]["mean"]["val.accuracy"])]
