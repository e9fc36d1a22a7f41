"""k-fold cross-validation and the `kiln train` / `kiln runs` commands."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from train_helpers import load_tiny, tiny_blueprint

from kiln.tracking import tracking_uri
from kiln.train import load_run, train


def test_cross_validation_summary(tmp_path: Path) -> None:
    run = train(load_tiny(tmp_path, epochs=2), cv=3, quiet=True)
    cv = run.metrics["cv"]
    assert cv["k"] == 3 and [f["fold"] for f in cv["folds"]] == [0, 1, 2]
    accuracies = [f["test"]["accuracy"] for f in cv["folds"]]
    assert cv["mean"]["test.accuracy"] == pytest.approx(np.mean(accuracies))
    assert cv["std"]["test.accuracy"] == pytest.approx(np.std(accuracies))
    assert cv["folds"][0]["test"] == run.metrics["test"]  # fold 0 is the run itself
    assert run.info["cv"] == 3 and run.blueprint.data.split.folds == 3
    client = MlflowClient(tracking_uri())
    logged = client.get_run(run.info["mlflow_run_id"]).data.metrics
    assert logged["cv.mean.test.accuracy"] == pytest.approx(cv["mean"]["test.accuracy"])
    steps = client.get_metric_history(run.info["mlflow_run_id"], "cv.test.accuracy")
    assert sorted(m.step for m in steps) == [0, 1, 2]
    # The run's data is fold 0's split: evaluating it again gives the test metrics it logged.
    from kiln.data import prepare_data
    from kiln.train import predict
    from kiln.train.inference import score_split

    again = run.data()
    assert np.array_equal(again.test.index, prepare_data(run.blueprint, fold=0).test.index)
    assert predict(run.load_model(), again.test.inputs)  # the model takes fold 0's inputs
    rescored = score_split(run.load_model(), again.test, again.preprocessor, again.signature,
                           run.blueprint.task)
    assert rescored["accuracy"] == pytest.approx(run.metrics["test"]["accuracy"])


def test_cli_train_json_and_runs(tmp_path: Path,
                                 kiln_cli: Callable[..., tuple[int, str, str]]) -> None:
    path = tiny_blueprint(tmp_path)
    code, out, err = kiln_cli("train", str(path), "--epochs", "2", "--json")
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["status"] == "finished" and summary["epochs_run"] == 2
    assert set(summary["test"]) >= {"accuracy", "f1_macro"}
    assert Path(summary["weights"]).exists()
    assert "data checks" in err  # the checks table, on stderr beside the progress bar
    run = load_run(summary["run_id"])
    assert run.blueprint.training.epochs == 2

    code, out, _ = kiln_cli("runs", "--json")
    rows = json.loads(out.strip().splitlines()[-1])["runs"]
    assert [r["id"] for r in rows] == [run.id]
    assert rows[0]["objective"] == "accuracy" and rows[0]["status"] == "finished"
    code, out, _ = kiln_cli("runs")
    assert code == 0 and "finished" in out


def test_cli_train_human_output_and_cv(tmp_path: Path,
                                       kiln_cli: Callable[..., tuple[int, str, str]]) -> None:
    path = tiny_blueprint(tmp_path)
    code, out, _ = kiln_cli("train", str(path), "--epochs", "1", "--cv", "2",
                           "--quiet")
    assert code == 0
    assert "2-fold cross-validation" in out and "±" in out and "run dir" in out


def test_cli_errors_are_one_line(tmp_path: Path,
                                 kiln_cli: Callable[..., tuple[int, str, str]]) -> None:
    code, _, err = kiln_cli("train", "--resume", "nope")
    assert code == 2 and "error:" in err and "no run" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = kiln_cli("train")
    assert code == 2 and "--resume" in err
    path = tiny_blueprint(tmp_path)
    code, _, err = kiln_cli("train", str(path), "--resume", "x")
    assert code == 2 and "only the run id" in err


def test_a_cross_validation_run_is_not_resumed(tmp_path: Path) -> None:
    from kiln.errors import RunError
    from kiln.runs.run import update_info

    run = train(load_tiny(tmp_path, epochs=1), cv=2, quiet=True, tracking=False)
    update_info(run, status="running")
    with pytest.raises(RunError, match="cross-validation, which cannot be resumed"):
        train(resume=run.id)
    with pytest.raises(RunError, match="not both"):
        train(load_tiny(tmp_path), cv=2, data=run.data())
