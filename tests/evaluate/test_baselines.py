"""Classical baselines fitted on model inputs, returned in the model's raw-output form."""

from __future__ import annotations

import numpy as np
import pytest

from kiln.evaluate.baselines import design_matrix, fit_baselines
from kiln.model.signature import InputSpec, OutputSpec, Signature


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_classification_baselines_on_breast_cancer() -> None:
    from sklearn.datasets import load_breast_cancer

    x, y = load_breast_cancer(return_X_y=True)
    x = ((x - x.mean(0)) / x.std(0)).astype(np.float32)
    sig = Signature((InputSpec("tabular", "vector", (30,), "float32", ()),),
                    (OutputSpec("target", "classification", 2, ("0", "1")),))
    fits = fit_baselines(sig, {"tabular": x[:400]}, {"target": y[:400]}, {"tabular": x[400:]})
    assert [f.name for f in fits] == ["logistic_regression", "hist_gradient_boosting"]
    for fit in fits:
        proba = _softmax(fit.outputs["target"])  # log-probabilities decode back to proba
        assert proba.shape == (len(x) - 400, 2)
        assert (proba.argmax(1) == y[400:]).mean() > 0.9, fit.name
        assert fit.train_rows == 400 and fit.fit_seconds > 0


def test_regression_baselines_predict_standardised_targets() -> None:
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    z = ((y - y.mean()) / y.std())[:, None].astype(np.float32)
    sig = Signature((InputSpec("tabular", "vector", (10,), "float32", ()),),
                    (OutputSpec("progression", "regression", 1),))
    fits = fit_baselines(sig, {"tabular": x[:300]}, {"progression": z[:300]},
                         {"tabular": x[300:]})
    assert [f.name for f in fits] == ["ridge", "hist_gradient_boosting"]
    for fit in fits:
        pred = fit.outputs["progression"]
        assert pred.shape == (len(x) - 300, 1)
        assert np.corrcoef(pred[:, 0], z[300:, 0])[0, 1] > 0.5


def test_categories_are_one_hot_and_images_flattened() -> None:
    sig = Signature((InputSpec("img", "image", (1, 2, 2), "float32", ("img",)),
                     InputSpec("colour", "category", (), "int64", ("colour",), 3)),
                    (OutputSpec("t", "multilabel", 2, ("a", "b")),))
    inputs = {"img": np.ones((4, 1, 2, 2), np.float32), "colour": np.array([0, 1, 2, 1])}
    x = design_matrix(inputs, sig)
    assert x.shape == (4, 4 + 3)
    np.testing.assert_array_equal(x[:, 4:], np.eye(3)[[0, 1, 2, 1]])
    y = np.array([[1, 0], [0, 0], [1, 0], [0, 0]], np.float32)  # label "b" never occurs
    fits = fit_baselines(sig, inputs, {"t": y}, inputs)
    logits = fits[0].outputs["t"]
    assert logits.shape == (4, 2)
    assert np.all(1 / (1 + np.exp(-logits[:, 1])) < 1e-3)


def test_tokens_become_counts() -> None:
    sig = Signature((InputSpec("text", "tokens", (3,), "int64", ("text",), 5),),
                    (OutputSpec("t", "classification", 2, ("a", "b")),))
    x = design_matrix({"text": np.array([[1, 1, 0], [4, 2, 0]])}, sig)
    np.testing.assert_array_equal(x, [[1, 2, 0, 0, 0], [1, 0, 1, 0, 1]])


@pytest.mark.parametrize("k", [3])
def test_missing_training_classes_get_tiny_probability(k: int) -> None:
    sig = Signature((InputSpec("tabular", "vector", (1,), "float32", ()),),
                    (OutputSpec("t", "classification", k, ("a", "b", "c")),))
    x = np.array([[0.0], [1.0], [0.1], [0.9]], np.float32)
    fits = fit_baselines(sig, {"tabular": x}, {"t": np.array([0, 2, 0, 2])}, {"tabular": x})
    proba = _softmax(fits[0].outputs["t"])
    assert proba.shape == (4, 3) and np.all(proba[:, 1] < 1e-5)
