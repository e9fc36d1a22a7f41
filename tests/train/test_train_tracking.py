"""Every run is an MLflow run: read it back with MlflowClient from the real SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient
from train_helpers import load_tiny

from kiln.tracking import MAX_PARAM_VALUE, flatten, log_artifact, tracking_uri
from kiln.train import train


def test_tracking_uri_defaults_to_sqlite_in_kiln_home(kiln_home: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert tracking_uri() == f"sqlite:///{kiln_home.resolve() / 'mlflow.db'}"
    monkeypatch.setenv("KILN_TRACKING_URI", "http://mlflow.example:5000")
    assert tracking_uri() == "http://mlflow.example:5000"


def test_flatten_blueprint_params() -> None:
    flat = flatten({"training": {"lr": 0.01, "early_stopping": {"patience": None}},
                    "metrics": ["accuracy", "f1_macro"],
                    "trunk": [{"linear": {"units": 16}}, "relu"],
                    "long": "x" * 10_000})
    assert flat["training.lr"] == "0.01"
    assert flat["training.early_stopping.patience"] == "null"
    assert flat["metrics"] == '["accuracy", "f1_macro"]'
    assert flat["trunk.0.linear.units"] == "16" and flat["trunk.1"] == "relu"
    assert len(flat["long"]) == MAX_PARAM_VALUE and flat["long"].endswith("...")


def test_run_is_recorded_in_mlflow(tmp_path: Path, kiln_home: Path) -> None:
    bp = load_tiny(tmp_path, epochs=3)
    run = train(bp, quiet=True)
    client = MlflowClient(tracking_uri())
    mlflow_run = client.get_run(run.info["mlflow_run_id"])
    assert mlflow_run.info.status == "FINISHED"
    assert mlflow_run.info.run_name == "tiny"
    params = mlflow_run.data.params
    assert params["training.lr"] == "0.01" and params["seed"] == "3"
    assert params["architecture.trunk.0.linear.units"] == "16"
    tags = mlflow_run.data.tags
    assert tags["kiln.run_id"] == run.id
    assert tags["kiln.data_fingerprint"] == run.info["data_fingerprint"]
    assert tags["kiln.seed"] == "3" and "kiln.version.torch" in tags
    history = client.get_metric_history(mlflow_run.info.run_id, "val.accuracy")
    assert [m.step for m in sorted(history, key=lambda m: m.step)] == [1, 2, 3]
    assert [m.value for m in sorted(history, key=lambda m: m.step)] == \
        [h["val"]["accuracy"] for h in run.metrics["history"]]
    assert mlflow_run.data.metrics["test.accuracy"] == run.metrics["test"]["accuracy"]
    artifacts = {a.path for a in client.list_artifacts(mlflow_run.info.run_id)}
    assert {"blueprint.yaml", "weights.safetensors", "preprocessing.json", "signature.json",
            "metrics.json", "run.json"} <= artifacts
    experiment = client.get_experiment(mlflow_run.info.experiment_id)
    assert experiment.name == "tiny"
    assert experiment.artifact_location.startswith((kiln_home.resolve() / "mlartifacts")
                                                   .as_uri())

    report = tmp_path / "report.html"
    report.write_text("<html></html>")
    log_artifact(run.id, report)
    assert "report.html" in {a.path for a in client.list_artifacts(mlflow_run.info.run_id)}


def test_nested_run_under_a_parent(tmp_path: Path) -> None:
    bp = load_tiny(tmp_path, epochs=1)
    client = MlflowClient(tracking_uri())
    parent = client.create_run(client.create_experiment("study"))
    run = train(bp, quiet=True, parent_run_id=parent.info.run_id, run_name="trial-0")
    child = client.get_run(run.info["mlflow_run_id"])
    assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert child.info.experiment_id == parent.info.experiment_id
    assert child.info.run_name == "trial-0" and run.info["name"] == "trial-0"


def test_a_failed_run_is_failed_in_mlflow(tmp_path: Path) -> None:
    def boom(epoch: int, val: dict[str, float]) -> None:
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        train(load_tiny(tmp_path, epochs=2), quiet=True, epoch_callback=boom)
    client = MlflowClient(tracking_uri())
    (found,) = client.search_runs([client.get_experiment_by_name("tiny").experiment_id])
    assert found.info.status == "FAILED"
