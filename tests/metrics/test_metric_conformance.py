"""One conformance test over every registered metric: it agrees with scikit-learn.

A metric registered without a reference here fails `test_every_metric_has_a_reference`,
so a new metric cannot skip the check."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from sklearn import metrics as m

from kiln.metrics import METRICS, lower_is_better, metric_names, score
from kiln.metrics.classification import ECE_BINS


def _ece(y: np.ndarray, proba: np.ndarray) -> float:
    """ECE written out the slow way, bin by bin."""
    confidence, pred = proba.max(axis=1), proba.argmax(axis=1)
    total = 0.0
    for b in range(ECE_BINS):
        lo, hi = b / ECE_BINS, (b + 1) / ECE_BINS
        inside = (confidence > lo) & (confidence <= hi) if b else confidence <= hi
        if inside.any():
            total += inside.mean() * abs((pred[inside] == y[inside]).mean()
                                         - confidence[inside].mean())
    return float(total)


def _cls(fn: Callable[..., float], **kw: Any) -> Callable[[np.ndarray, np.ndarray], float]:
    return lambda y, p: fn(y, p.argmax(axis=1), **kw)


K = 3
CLASSIFICATION: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": _cls(m.accuracy_score),
    "balanced_accuracy": _cls(m.balanced_accuracy_score),
    **{f"{s}_{a}": _cls(fn, labels=np.arange(K), average=a, zero_division=0)
       for s, fn in (("precision", m.precision_score), ("recall", m.recall_score),
                     ("f1", m.f1_score)) for a in ("macro", "weighted")},
    "roc_auc": lambda y, p: m.roc_auc_score(y, p, multi_class="ovr"),
    "log_loss": lambda y, p: m.log_loss(y, p, labels=np.arange(K)),
    "ece": _ece,
}
MULTILABEL: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "f1_micro": lambda y, p: m.f1_score(y, p >= 0.5, average="micro", zero_division=0),
    "f1_macro": lambda y, p: m.f1_score(y, p >= 0.5, average="macro", zero_division=0),
    "hamming_loss": lambda y, p: m.hamming_loss(y, p >= 0.5),
    "subset_accuracy": lambda y, p: m.accuracy_score(y, p >= 0.5),
    "roc_auc": lambda y, p: m.roc_auc_score(y, p, average="macro"),
}
REGRESSION: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "mae": m.mean_absolute_error, "mse": m.mean_squared_error,
    "rmse": lambda y, p: float(np.sqrt(m.mean_squared_error(y, p))),
    "r2": m.r2_score, "mape": m.mean_absolute_percentage_error,
}
REFERENCES = {"classification": CLASSIFICATION, "multilabel": MULTILABEL,
              "regression": REGRESSION}


def _data(task: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 200
    if task == "classification":
        y = rng.integers(0, K, n)
        logits = rng.normal(size=(n, K)) + 1.5 * np.eye(K)[y]
        proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        return y, proba
    if task == "multilabel":
        y = rng.integers(0, 2, (n, 4))
        return y, np.clip(0.6 * y + rng.uniform(0, 0.5, (n, 4)), 0, 1)
    y = rng.normal(10, 3, n)
    return y, y + rng.normal(0, 1, n)


def test_every_metric_has_a_reference() -> None:
    metric_names("classification")  # loads the built-in metrics
    missing = [f"{task}:{name}" for task, name in METRICS if name not in REFERENCES[task]]
    assert not missing, f"registered metrics without a scikit-learn reference: {missing}"


@pytest.mark.parametrize("task", sorted(REFERENCES))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_metric_agrees_with_scikit_learn(task: str, seed: int) -> None:
    y, out = _data(task, seed)
    names = metric_names(task)
    got = score(task, y, out, names)
    assert set(got) == set(names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in names:
            assert got[name] == pytest.approx(float(REFERENCES[task][name](y, out)),
                                              rel=1e-6, abs=1e-9), f"{task}:{name}"


def test_direction_comes_from_the_registry() -> None:
    assert lower_is_better("log_loss") and lower_is_better("mae") and lower_is_better("loss")
    assert not lower_is_better("accuracy") and not lower_is_better("r2")
