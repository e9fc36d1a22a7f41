"""`evaluate` end to end on tiny trained runs: metrics, intervals, baselines, slices,
another table through the stored preprocessing, MLflow, and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kiln.blueprint.schema import CLASSIFICATION_METRICS
from kiln.errors import DataError
from kiln.evaluate import evaluate
from kiln.train import load_run

KILN = str(Path(sys.executable).with_name("kiln"))


def test_test_split_metrics_intervals_baselines_slices(bc_run: Path) -> None:
    run = load_run(bc_run)
    ev = evaluate(run, resamples=300)
    d = ev.to_dict()
    assert d["data"] == "test split" and d["rows"] == len(run.data().test)
    assert list(d["metrics"])[:2] == ["accuracy", "roc_auc"]  # the blueprint's first
    assert set(d["metrics"]) == set(CLASSIFICATION_METRICS)
    for name, est in d["metrics"].items():
        low, high = est["ci95"]
        assert low <= est["value"] <= high, name
    # The same numbers training reported on its test split.
    assert d["metrics"]["accuracy"]["value"] == pytest.approx(run.metrics["test"]["accuracy"],
                                                              abs=1e-6)
    assert d["metrics"]["accuracy"]["value"] > 0.85
    names = [b["name"] for b in d["baselines"]]
    assert names == ["logistic_regression", "hist_gradient_boosting"]
    for b in d["baselines"]:
        assert b["metrics"]["accuracy"]["value"] > 0.85
        assert b["train_rows"] == len(run.data().train)
        diff = b["model_minus_baseline"]
        assert diff["value"] == pytest.approx(d["metrics"]["accuracy"]["value"]
                                              - b["metrics"]["accuracy"]["value"], abs=1e-5)
    slices = d["slices"]
    assert {s["feature"] for s in slices} == {"mean radius"}
    assert sum(s["rows"] for s in slices) == d["rows"] and len(slices) == 4
    target = d["targets"]["label"]
    assert target["labels"] == ["benign", "malignant"]
    assert np.sum(target["confusion_matrix"]) == d["rows"]
    assert list(target["curves"]) == ["malignant"]
    assert d["checks"][0]["name"] == "schema"
    # evaluation.json is strict JSON and matches what was returned.
    stored = json.loads((bc_run / "evaluation.json").read_text(),
                        parse_constant=lambda c: pytest.fail(f"{c} in evaluation.json"))
    assert stored["metrics"] == d["metrics"]


def test_same_seed_same_intervals(bc_run: Path) -> None:
    a = evaluate(bc_run, resamples=200, baselines=False, track=False).to_dict()
    b = evaluate(bc_run, resamples=200, baselines=False, track=False).to_dict()
    assert a["metrics"] == b["metrics"] and a["slices"] == b["slices"]


def test_metrics_are_logged_to_the_runs_mlflow_run(bc_run: Path) -> None:
    from kiln.tracking import client

    evaluate(bc_run, resamples=100, baselines=False)
    run = load_run(bc_run)
    mlflow_run = client().get_run(run.info["mlflow_run_id"])
    metrics = mlflow_run.data.metrics
    assert "eval.accuracy" in metrics and "eval.accuracy.ci95_low" in metrics
    artifacts = [a.path for a in client().list_artifacts(run.info["mlflow_run_id"])]
    assert "evaluation.json" in artifacts


def _bc_table(run_dir: Path) -> pd.DataFrame:
    run = load_run(run_dir)
    prepared = run.data()
    return prepared.table.iloc[prepared.test.index].reset_index(drop=True)


def test_other_data_uses_the_stored_preprocessing(bc_run: Path, tmp_path: Path) -> None:
    """The test rows written to a CSV give the test split's numbers: not refitted."""
    _bc_table(bc_run).to_csv(tmp_path / "again.csv", index=False)
    before = (bc_run / "preprocessing.json").read_text()
    split = evaluate(bc_run, resamples=100, baselines=False, track=False).to_dict()
    other = evaluate(bc_run, data=tmp_path / "again.csv", resamples=100, baselines=False,
                     track=False)
    assert other.rows == split["rows"] and other.data.endswith("again.csv")
    assert other.path == bc_run / "evaluation-again.json"
    for name, est in split["metrics"].items():
        assert other.to_dict()["metrics"][name]["value"] == pytest.approx(est["value"],
                                                                          abs=1e-5)
    assert (bc_run / "preprocessing.json").read_text() == before


def cli(*args: str) -> int:
    """Run the CLI in-process (as the console script does); the exit code."""
    from kiln.cli import main

    with pytest.raises(SystemExit) as exited:
        main(list(args))
    return int(exited.value.code or 0)


def test_other_data_missing_a_column_is_a_data_error(bc_run: Path, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    _bc_table(bc_run).drop(columns=["mean area"]).to_csv(tmp_path / "short.csv", index=False)
    with pytest.raises(DataError, match=r"short\.csv.*'mean area'"):
        evaluate(bc_run, data=tmp_path / "short.csv", track=False)
    assert cli("evaluate", bc_run.name, "--data", str(tmp_path / "short.csv")) == 2
    err = capsys.readouterr().err
    assert "mean area" in err and len(err.strip().splitlines()) == 1


def test_two_targets_mixed_inputs(mixed_run: Path) -> None:
    d = evaluate(mixed_run, resamples=200, track=False).to_dict()
    assert d["objective"]["name"] == "accuracy"
    for key in ("price.r2", "price.mae", "kind.accuracy", "kind.roc_auc", "accuracy"):
        assert key in d["metrics"], key
    assert "r2" not in d["metrics"]  # one target has it: no "mean" that repeats it
    assert d["metrics"]["price.r2"]["value"] > 0  # 3 epochs: better than the mean already
    assert {b["name"] for b in d["baselines"]} == {"logistic_regression",
                                                   "hist_gradient_boosting"}
    ridge_like = d["baselines"][0]["metrics"]["price.r2"]["value"]
    assert ridge_like > 0.8  # a linear target: the linear baseline nails it
    assert {s["feature"] for s in d["slices"]} == {"city", "a"}
    assert {s["value"] for s in d["slices"] if s["feature"] == "city"} <= {
        "north", "south", "east"}
    assert "residuals" in d["targets"]["price"] and "confusion_matrix" in d["targets"]["kind"]


def test_cli_json_and_table(bc_run: Path, capsys: pytest.CaptureFixture[str],
                            monkeypatch: pytest.MonkeyPatch) -> None:
    assert cli("evaluate", bc_run.name, "--json", "--resamples", "100", "--no-baselines") == 0
    payload = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert payload["run_id"] == bc_run.name and payload["baselines"] == []
    monkeypatch.setenv("COLUMNS", "160")
    assert cli("evaluate", bc_run.name[:12], "--resamples", "100") == 0
    out = capsys.readouterr().out
    assert "logistic regression" in out and "mean radius" in out and "[0." in out


def test_cli_unknown_run_is_one_red_line() -> None:
    done = subprocess.run([KILN, "evaluate", "no-such-run"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 2
    assert "no run 'no-such-run'" in done.stderr and "Traceback" not in done.stderr


def test_a_run_without_weights_is_a_run_error(bc_run: Path, tmp_path: Path) -> None:
    import shutil

    from kiln.errors import RunError

    broken = tmp_path / bc_run.name
    shutil.copytree(bc_run, broken)
    (broken / "weights.safetensors").unlink()
    with pytest.raises(RunError, match="no weights"):
        evaluate(broken, track=False)
