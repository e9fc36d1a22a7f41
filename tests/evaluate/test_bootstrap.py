"""Bootstrap intervals: the vectorised metrics equal scikit-learn's, intervals are seeded."""

from __future__ import annotations

import numpy as np
import pytest

from kiln.blueprint.schema import CLASSIFICATION_METRICS, MULTILABEL_METRICS, REGRESSION_METRICS
from kiln.evaluate.bootstrap import bootstrap, interval, resample_weights, weighted_scores
from kiln.metrics import score


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _case(task: str, k: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    n = 120
    if task == "classification":
        y = rng.integers(0, k, n)
        return y, _softmax(rng.normal(size=(n, k)) + 2 * np.eye(k)[y])
    if task == "multilabel":
        y = (rng.random((n, k)) < 0.4).astype(np.float32)
        return y, np.clip(0.6 * y + 0.4 * rng.random((n, k)), 0, 1)
    y = rng.normal(3, 2, size=(n, k))
    return y, y + rng.normal(0, 0.7, size=(n, k))


NAMES = {"classification": CLASSIFICATION_METRICS, "multilabel": MULTILABEL_METRICS,
         "regression": REGRESSION_METRICS}


@pytest.mark.parametrize(("task", "k"), [("classification", 2), ("classification", 4),
                                         ("multilabel", 3), ("regression", 1),
                                         ("regression", 2)])
def test_weighted_metrics_equal_sklearn_with_unit_weights(task: str, k: int) -> None:
    y, out = _case(task, k, np.random.default_rng(1))
    names = NAMES[task]
    expected = score(task, y, out, names)
    got = weighted_scores(task, y, out, names, np.ones((1, len(y))))
    assert set(got) == set(expected)
    for name in names:
        assert got[name][0] == pytest.approx(expected[name], abs=1e-9), name


@pytest.mark.parametrize(("task", "k"), [("classification", 3), ("regression", 1)])
def test_weighted_metrics_equal_sklearn_on_a_resample(task: str, k: int) -> None:
    """One resample as counts == sklearn on the rows repeated by those counts."""
    y, out = _case(task, k, np.random.default_rng(2))
    w = next(resample_weights(len(y), 1, seed=5))
    rows = np.repeat(np.arange(len(y)), w[0].astype(int))
    expected = score(task, y[rows], out[rows], NAMES[task])
    got = weighted_scores(task, y, out, NAMES[task], w)
    for name, value in expected.items():
        assert got[name][0] == pytest.approx(value, abs=1e-9), name


def test_auc_with_ties_matches_sklearn() -> None:
    from sklearn.metrics import roc_auc_score

    y = np.array([0, 1, 0, 1, 1, 0, 1, 0])
    s = np.array([0.1, 0.5, 0.5, 0.9, 0.5, 0.2, 0.2, 0.9])
    proba = np.stack([1 - s, s], axis=1)
    got = weighted_scores("classification", y, proba, ["roc_auc"], np.ones((1, 8)))
    assert got["roc_auc"][0] == pytest.approx(roc_auc_score(y, s))


def test_resample_weights_are_counts_summing_to_n() -> None:
    chunks = list(resample_weights(50, 300, seed=0))
    w = np.concatenate(chunks)
    assert w.shape == (300, 50)
    assert np.all(w.sum(axis=1) == 50)
    assert np.all(w == np.round(w))


def test_interval_brackets_the_estimate_and_is_seeded() -> None:
    y, proba = _case("classification", 3, np.random.default_rng(3))
    point = score("classification", y, proba, ["accuracy"])["accuracy"]
    a = bootstrap("classification", y, {"m": proba}, ["accuracy"], seed=7)["m"]["accuracy"]
    b = bootstrap("classification", y, {"m": proba}, ["accuracy"], seed=7)["m"]["accuracy"]
    c = bootstrap("classification", y, {"m": proba}, ["accuracy"], seed=8)["m"]["accuracy"]
    assert a.shape == (1000,)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    low, high = interval(a)
    assert low < point < high
    assert 0.05 < high - low < 0.4  # n = 120: roughly ±2·sqrt(p(1−p)/n)


def test_paired_resamples_share_rows() -> None:
    y, proba = _case("classification", 2, np.random.default_rng(4))
    dist = bootstrap("classification", y, {"a": proba, "b": proba}, ["accuracy"], seed=0)
    np.testing.assert_array_equal(dist["a"]["accuracy"], dist["b"]["accuracy"])


def test_interval_of_undefined_samples_is_nan() -> None:
    assert all(np.isnan(interval(np.full(10, np.nan))))
