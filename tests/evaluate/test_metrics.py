"""Metrics against values worked out by hand, and the curve data the report draws."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kiln.evaluate.curves import calibration, class_curves, confusion, per_class, residuals
from kiln.metrics import (
    expected_calibration_error,
    score,
    score_targets,
)
from kiln.metrics import score as score_fn

Y = np.array([0, 0, 1, 1])
PROBA = np.array([[0.9, 0.1], [0.4, 0.6], [0.2, 0.8], [0.3, 0.7]])  # predicts 0, 1, 1, 1


def test_classification_by_hand() -> None:
    got = score("classification", Y, PROBA, ["accuracy", "balanced_accuracy", "precision_macro",
                                             "recall_macro", "f1_macro", "f1_weighted",
                                             "roc_auc", "log_loss", "ece"])
    assert got["accuracy"] == pytest.approx(0.75)
    assert got["balanced_accuracy"] == pytest.approx((0.5 + 1.0) / 2)
    assert got["precision_macro"] == pytest.approx((1.0 + 2 / 3) / 2)
    assert got["recall_macro"] == pytest.approx(0.75)
    assert got["f1_macro"] == pytest.approx((2 / 3 + 0.8) / 2)
    assert got["f1_weighted"] == pytest.approx((2 / 3 + 0.8) / 2)  # equal supports
    assert got["roc_auc"] == pytest.approx(1.0)  # every positive outscores every negative
    assert got["log_loss"] == pytest.approx(-np.mean(np.log([0.9, 0.4, 0.8, 0.7])))
    # confidences 0.9, 0.6, 0.8, 0.7 fall in four bins; only the 0.6 one is wrong.
    assert got["ece"] == pytest.approx((0.1 + 0.6 + 0.2 + 0.3) / 4)


def test_ece_of_a_perfectly_calibrated_bin_is_zero() -> None:
    proba = np.array([[0.75, 0.25]] * 4)
    assert expected_calibration_error(np.array([0, 0, 0, 1]), proba) == pytest.approx(0.0)


def test_regression_by_hand() -> None:
    y, pred = np.array([1.0, 2.0, 3.0, 4.0]), np.array([1.0, 2.0, 3.0, 6.0])
    got = score("regression", y, pred, ["mae", "mse", "rmse", "r2", "mape"])
    assert got == pytest.approx({"mae": 0.5, "mse": 1.0, "rmse": 1.0, "r2": 1 - 4 / 5,
                                 "mape": 0.5 / 4})


def test_multilabel_by_hand() -> None:
    y = np.array([[1, 0], [1, 1], [0, 0]])
    proba = np.array([[0.9, 0.6], [0.8, 0.2], [0.1, 0.1]])  # predicts [1,1], [1,0], [0,0]
    got = score("multilabel", y, proba, ["f1_micro", "hamming_loss", "subset_accuracy"])
    assert got["f1_micro"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert got["hamming_loss"] == pytest.approx(2 / 6)
    assert got["subset_accuracy"] == pytest.approx(1 / 3)


def test_score_targets_prefixes_and_averages() -> None:
    types = {"a": "classification", "b": "classification"}
    flipped = PROBA[:, ::-1]
    got = score_targets(types, {"a": Y, "b": Y}, {"a": PROBA, "b": flipped}, ["accuracy"],
                        "accuracy")
    assert got["a.accuracy"] == pytest.approx(0.75)
    assert got["b.accuracy"] == pytest.approx(0.25)
    assert got["accuracy"] == got["objective"] == pytest.approx(0.5)


def test_confusion_and_per_class() -> None:
    pred = PROBA.argmax(axis=1)
    assert confusion(Y, pred, 2) == [[1, 1], [0, 2]]
    rows = per_class(Y, pred, ["no", "yes"])
    assert rows[0] == {"label": "no", "precision": 1.0, "recall": 0.5, "f1": 0.6667,
                       "support": 2}
    assert rows[1]["precision"] == pytest.approx(0.6667) and rows[1]["support"] == 2


def test_curves_of_a_binary_task_use_the_positive_class() -> None:
    curves = class_curves(Y, PROBA, ["no", "yes"])
    assert list(curves) == ["yes"]
    assert curves["yes"]["roc"]["auc"] == pytest.approx(1.0)
    assert curves["yes"]["pr"]["ap"] == pytest.approx(1.0)
    roc = curves["yes"]["roc"]
    assert roc["fpr"][0] == 0.0 and roc["tpr"][-1] == 1.0


def test_curves_are_thinned_and_multiclass_is_one_vs_rest() -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 5000)
    proba = rng.dirichlet(np.ones(3), 5000)
    curves = class_curves(y, proba, ["a", "b", "c"])
    assert list(curves) == ["a", "b", "c"]
    assert len(curves["a"]["roc"]["fpr"]) <= 200
    assert curves["a"]["roc"]["auc"] == pytest.approx(0.5, abs=0.05)


def test_calibration_bins() -> None:
    cal = calibration(Y, PROBA)
    assert cal["count"] == [1, 1, 1, 1]
    assert cal["confidence"] == [0.6, 0.7, 0.8, 0.9]
    assert cal["accuracy"] == [0.0, 1.0, 1.0, 1.0]


def test_residuals_are_sampled() -> None:
    y = np.arange(5000, dtype=float)
    got = residuals(y, y + 1, ["price"])
    assert len(got["price"]["actual"]) == 2000
    assert all(math.isclose(p - a, 1.0) for a, p in zip(got["price"]["actual"],
                                                        got["price"]["predicted"], strict=True))


@pytest.mark.parametrize("k", [2, 3, 10])
def test_confusion_matrix_metrics_equal_scikit_learn(k: int) -> None:
    """The counting metrics come from one confusion matrix; they must equal scikit-learn's,
    including classes that are never predicted or absent from y_true."""
    import warnings

    from sklearn import metrics as m

    rng = np.random.default_rng(k)
    for trial in range(15):
        n = int(rng.integers(5, 300))
        y = rng.integers(0, k, n)
        proba = rng.dirichlet(np.ones(k), n)
        if trial % 3 == 0:  # the last class is never predicted
            proba[:, -1] = 0
            proba /= proba.sum(axis=1, keepdims=True)
        pred = proba.argmax(axis=1)
        names = ["accuracy", "balanced_accuracy", *(f"{s}_{a}" for s in ("precision", "recall",
                 "f1") for a in ("macro", "weighted"))]
        got = score_fn("classification", y, proba, names)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = {"accuracy": m.accuracy_score(y, pred),
                        "balanced_accuracy": m.balanced_accuracy_score(y, pred)}
            fns = {"precision": m.precision_score, "recall": m.recall_score, "f1": m.f1_score}
            for name in names[2:]:
                score, average = name.split("_")
                expected[name] = fns[score](y, pred, labels=np.arange(k), average=average,
                                            zero_division=0)
        for name in names:
            assert got[name] == pytest.approx(expected[name], abs=1e-12), name
