"""The binary decision threshold: chosen on validation under a constraint or costs, stored
in the run and the bundle, applied by `Bundle.predict`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from kiln.blueprint import load_blueprint
from kiln.blueprint.threshold_spec import ThresholdSpec
from kiln.errors import BlueprintError, DataError
from kiln.train import train
from kiln.train.threshold import choose, rates, select_threshold

pytestmark = [pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning"),
              pytest.mark.filterwarnings("ignore:.*legacy TorchScript-based ONNX export"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning:torch.*")]


def test_choose_meets_the_constraint_and_maximises() -> None:
    p = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.4, 0.3, 0.2])
    truth = np.array([1, 1, 1, 0, 1, 0, 1, 0], dtype=bool)
    spec = ThresholdSpec(maximize="recall", subject_to={"precision": 0.8})
    t, met = choose(spec, p, truth)
    assert met and t == 0.6  # 4 of 5 called positives are right; recall 4/5
    assert rates(p, truth, t)["precision"] >= 0.8
    strict = ThresholdSpec(maximize="recall", subject_to={"precision": 1.0})
    assert choose(strict, p, truth) == (0.8, True)
    impossible = ThresholdSpec(maximize="recall", subject_to={"precision": 1.0,
                                                              "recall": 1.0})
    assert choose(impossible, p, truth) == (0.5, False)
    costly_misses = ThresholdSpec(costs={"false_positive": 1, "false_negative": 10})
    assert choose(costly_misses, p, truth)[0] == 0.3  # every positive caught


def test_threshold_needs_two_classes_and_a_known_positive() -> None:
    spec = ThresholdSpec(maximize="f1", positive="maybe")
    val = (np.full((4, 2), 0.5), np.array([0, 1, 0, 1]))
    with pytest.raises(DataError, match="'maybe' is not a class"):
        select_threshold(spec, ["no", "yes"], val, None)
    with pytest.raises(DataError, match="has 3 classes"):
        select_threshold(ThresholdSpec(maximize="f1"), ["a", "b", "c"], val, None)
    with pytest.raises(ValueError, match="either `maximize`"):
        ThresholdSpec()


def binary_blueprint(folder: Path, threshold: dict | None) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    noisy = x[:, 0] + 0.8 * x[:, 1] + rng.normal(0, 0.8, 400) > 0.9
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2],
                  "label": np.where(noisy, "yes", "no")}).to_csv(folder / "t.csv", index=False)
    task: dict = {"type": "classification", "target": "label"}
    if threshold is not None:
        task["threshold"] = threshold
    spec = {"seed": 1, "task": task, "data": {"source": "t.csv", "split": {"val": 0.25}},
            "architecture": {"trunk": [{"linear": {"units": 16}}, "relu"]},
            "training": {"epochs": 15, "lr": 0.01, "threads": 1}}
    path = folder / "bp.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_blueprint_refuses_a_threshold_for_regression(tmp_path: Path) -> None:
    raw = yaml.safe_load(binary_blueprint(tmp_path, {"maximize": "recall"}).read_text())
    raw["task"]["type"] = "regression"
    with pytest.raises(BlueprintError, match="threshold"):
        load_blueprint(raw)


@pytest.mark.slow
def test_threshold_is_stored_in_the_bundle_and_applied(tmp_path: Path) -> None:
    from kiln.bundle import load
    from kiln.export import export

    rule = {"maximize": "recall", "subject_to": {"precision": 0.8}, "positive": "yes"}
    run = train(load_blueprint(binary_blueprint(tmp_path, rule)), quiet=True, tracking=False)
    chosen = run.metrics["threshold"]
    assert chosen["met"] and chosen["val"]["precision"] >= 0.8
    assert chosen["positive"] == "yes" and chosen["rule"] == ("maximise recall subject to "
                                                              "precision ≥ 0.8")
    assert set(chosen["test"]) >= {"precision", "recall", "false_positives"}
    bundle = load(export(run, output=tmp_path / "bundle"))
    (out,) = bundle.outputs
    assert out["threshold"]["value"] == chosen["value"]
    records = [{"a": a, "b": b, "c": 0.0} for a in np.linspace(-1, 2, 13) for b in (0.0, 0.7)]
    answers = bundle.predict(records)
    p_yes = bundle.predict_columns({k: [r[k] for r in records] for k in "abc"})["label"][
        :, out["labels"].index("yes")]
    expected = np.where(p_yes >= chosen["value"], "yes", "no")
    assert [a["label"]["label"] for a in answers] == expected.tolist()
    assert expected.tolist() != np.where(p_yes >= 0.5, "yes", "no").tolist()  # it mattered


def test_train_prints_the_threshold() -> None:
    from kiln.cli.train_cmd import threshold_line

    figures = {"precision": 0.9, "recall": 0.75, "false_positives": 2, "false_negatives": 5}
    line = threshold_line({"value": 0.31, "positive": "yes", "rule": "maximise recall",
                           "met": True, "val": figures, "test": figures})
    assert line.startswith("decision threshold 0.3100 for 'yes' (maximise recall)")
    assert "validation: precision 0.900, recall 0.750, FP 2, FN 5; test:" in line
