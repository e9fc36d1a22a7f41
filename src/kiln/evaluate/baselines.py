"""Classical baselines on the model's own inputs: does the custom architecture earn its keep?

Each baseline is fitted on the same preprocessed train rows the model trained on and
predicts the same evaluated rows. Inputs are flattened to one 2-D matrix (images
flattened, categories one-hot, token ids as bag-of-ids counts). Predictions are returned in
the model's raw-output convention (log-probabilities as logits, logits for multilabel,
standardised values for regression) so that the preprocessor's `decode` treats the model
and its baselines alike.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kiln.model.signature import Signature

MAX_TRAIN_CELLS = 20_000_000  # rows × columns fitted; more rows are subsampled (seeded)
MAX_DENSE_COLUMNS = 20_000  # wider inputs (big images, vocabularies) skip the tree model
# Below this many cells one thread (OpenMP and BLAS) is fastest: spinning workers cost
# more than they save on small data, far more on a busy machine (seen: gradient boosting
# 17 s instead of 0.3 s, logistic regression on digits 10 s instead of 0.14 s).
SINGLE_THREAD_CELLS = 2_000_000
EPS = 1e-7


@dataclass
class BaselineFit:
    """One fitted baseline: raw outputs per target on the evaluated rows."""

    name: str
    outputs: dict[str, np.ndarray]
    fit_seconds: float
    train_rows: int
    notes: list[str] = field(default_factory=list)


def design_matrix(inputs: Mapping[str, np.ndarray], signature: Signature) -> Any:
    """Model inputs → one (N, D) float matrix; scipy CSR when a text input makes it wide."""
    from scipy import sparse

    blocks: list[Any] = []
    for spec in signature.inputs:
        x = np.asarray(inputs[spec.name])
        n = len(x)
        if spec.kind in ("vector", "image"):
            blocks.append(x.reshape(n, -1).astype(np.float32))
        elif spec.kind == "category":
            size = spec.vocab_size or int(x.max()) + 1
            blocks.append(sparse.csr_matrix((np.ones(n, np.float32), (np.arange(n), x.ravel())),
                                            shape=(n, size)))
        else:  # tokens: counts of each id (padding too: a length signal, harmless)
            size = spec.vocab_size or int(x.max()) + 1
            rows = np.repeat(np.arange(n), x.shape[1])
            blocks.append(sparse.csr_matrix((np.ones(x.size, np.float32), (rows, x.ravel())),
                                            shape=(n, size)))
    if any(sparse.issparse(b) for b in blocks):
        matrix = sparse.hstack(blocks, format="csr")
        return matrix.toarray() if matrix.shape[1] <= MAX_DENSE_COLUMNS else matrix
    return np.hstack(blocks)


def _logit_columns(proba: np.ndarray, classes: np.ndarray, k: int) -> np.ndarray:
    """predict_proba over the classes seen in training → (N, K) log-probabilities."""
    full = np.full((len(proba), k), EPS)
    full[:, classes.astype(int)] = proba
    return np.log(np.clip(full, EPS, 1.0))


def _fit_target(kind: str, estimator: str, x: Any, y: np.ndarray, x_eval: Any,
                k: int, seed: int) -> np.ndarray:
    """Fit one estimator on one target; raw outputs (N_eval, K)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.linear_model import LogisticRegression, Ridge

    def classifier() -> Any:
        if estimator == "linear":
            return LogisticRegression(max_iter=1000)
        return HistGradientBoostingClassifier(random_state=seed)

    if kind == "classification":
        model = classifier().fit(x, y)
        return _logit_columns(model.predict_proba(x_eval), model.classes_, k)
    if kind == "multilabel":  # one yes/no model per label
        columns = []
        for j in range(y.shape[1]):
            labels = y[:, j].astype(int)
            if len(np.unique(labels)) < 2:
                p = np.full(x_eval.shape[0], float(labels[0]))
            else:
                p = classifier().fit(x, labels).predict_proba(x_eval)[:, 1]
            p = np.clip(p, EPS, 1 - EPS)
            columns.append(np.log(p / (1 - p)))
        return np.stack(columns, axis=1)
    if estimator == "linear":
        return Ridge(alpha=1.0).fit(x, y).predict(x_eval).reshape(x_eval.shape[0], -1)
    return np.stack([HistGradientBoostingRegressor(random_state=seed).fit(x, y[:, j])
                     .predict(x_eval) for j in range(y.shape[1])], axis=1)


def fit_baselines(signature: Signature, train_inputs: Mapping[str, np.ndarray],
                  train_targets: Mapping[str, np.ndarray],
                  eval_inputs: Mapping[str, np.ndarray], *, seed: int = 0) -> list[BaselineFit]:
    """A linear model (logistic / ridge) and gradient-boosted trees, one per target."""
    from scipy import sparse
    from threadpoolctl import threadpool_limits

    x, x_eval = design_matrix(train_inputs, signature), design_matrix(eval_inputs, signature)
    rows = np.arange(x.shape[0])
    limit = max(1, MAX_TRAIN_CELLS // max(x.shape[1], 1))
    if len(rows) > limit:
        rows = np.sort(np.random.default_rng(seed).choice(rows, limit, replace=False))
    kinds = {o.name: o.type for o in signature.outputs}
    regression = all(k == "regression" for k in kinds.values())
    fits = []
    for estimator, name in (("linear", "ridge" if regression else "logistic_regression"),
                            ("trees", "hist_gradient_boosting")):
        notes = [] if len(rows) == x.shape[0] else [f"fitted on {len(rows)} sampled rows"]
        if estimator == "trees" and sparse.issparse(x):
            continue  # too wide for trees; the linear model still speaks for the classics
        start = time.perf_counter()
        outputs = {}
        threads = 1 if len(rows) * x.shape[1] <= SINGLE_THREAD_CELLS else None
        with warnings.catch_warnings(record=True) as caught, \
                threadpool_limits(limits=threads):
            warnings.simplefilter("always")
            for spec in signature.outputs:
                y = np.asarray(train_targets[spec.name])[rows]
                outputs[spec.name] = _fit_target(spec.type, estimator, x[rows], y, x_eval,
                                                 spec.size, seed)
        if any("converge" in str(w.message).lower() for w in caught):
            notes.append("did not fully converge")
        fits.append(BaselineFit(name, outputs, time.perf_counter() - start, len(rows), notes))
    return fits
