"""Bootstrap confidence intervals, vectorised: every metric is rewritten as a function of
per-row resample counts, so 1000 resamples are a few matrix products instead of 1000
scikit-learn calls.

A resample of N rows drawn with replacement is a count vector w (N,) with Σw = N; a chunk of
B resamples is a count matrix W (B, N). Each `weighted_*` function returns one value per
resample, (B,), and with W = ones it equals the scikit-learn metric in `metrics.py`
(a test pins that). Intervals use the percentile method.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kiln.metrics import ECE_BINS, LOG_LOSS_EPS, confidence_bins

RESAMPLES = 1000  # enough for stable 2.5/97.5 percentiles; cost is linear in it
CONFIDENCE = 0.95
CELLS_PER_CHUNK = 4_000_000  # B × N counts held at once (~32 MB of float64)


@dataclass(frozen=True)
class Estimate:
    """A point estimate and its bootstrap interval (nan when undefined)."""

    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: rounded, and null where undefined (JSON has no NaN)."""
        return {"value": _finite(self.value), "ci95": [_finite(self.low), _finite(self.high)]}


def _finite(x: float) -> float | None:
    return round(float(x), 6) if np.isfinite(x) else None


def resample_weights(n: int, resamples: int = RESAMPLES, seed: int = 0) -> Iterator[np.ndarray]:
    """Yield count matrices (b, n), b ≤ resamples in total, from one seeded generator."""
    rng = np.random.default_rng(seed)
    chunk = max(1, CELLS_PER_CHUNK // max(n, 1))
    done = 0
    while done < resamples:
        b = min(chunk, resamples - done)
        idx = rng.integers(0, n, size=(b, n))  # (b, n) row positions
        flat = (idx + np.arange(b)[:, None] * n).ravel()
        yield np.bincount(flat, minlength=b * n).reshape(b, n).astype(np.float64)
        done += b


def interval(samples: np.ndarray, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """Percentile interval of bootstrap samples, ignoring resamples where it is undefined."""
    finite = samples[np.isfinite(samples)]
    if finite.size < 0.5 * samples.size or finite.size == 0:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def _onehot(ids: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros((len(ids), k))
    out[np.arange(len(ids)), ids] = 1.0
    return out


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num, dtype=float), where=den > 0)


def weighted_auc(y: np.ndarray, score: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Binary ROC-AUC per resample (Mann–Whitney, ties count ½). y: (N,) 0/1, w: (B, N).

    Each positive row scores the resampled negative weight below it: one cumulative sum
    over the sorted negatives, then two gathers at each positive's place among them."""
    positive = np.flatnonzero(y == 1)
    negative = np.flatnonzero(y != 1)
    order = negative[np.argsort(score[negative], kind="mergesort")]
    neg_scores = score[order]
    below = np.zeros((len(w), len(order) + 1))  # (B, N_neg + 1): weight of the first j
    np.cumsum(w[:, order], axis=1, out=below[:, 1:])
    s = score[positive]
    left = np.searchsorted(neg_scores, s, side="left")  # negatives strictly below
    right = np.searchsorted(neg_scores, s, side="right")  # ... or tied
    wp = w[:, positive]  # (B, N_pos)
    num = (wp * (below[:, left] + below[:, right])).sum(axis=1) / 2
    den = wp.sum(axis=1) * below[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def weighted_classification(y: np.ndarray, proba: np.ndarray, names: Sequence[str],
                            w: np.ndarray) -> dict[str, np.ndarray]:
    """y: (N,) class ids; proba: (N, K); w: (B, N) → metric → (B,)."""
    n, k = proba.shape
    pred = proba.argmax(axis=1)
    truth = _onehot(y, k)  # (N, K)
    correct = (pred == y).astype(float)
    support = w @ truth  # (B, K)
    tp = w @ (truth * correct[:, None])
    predicted = w @ _onehot(pred, k)
    total = w.sum(axis=1)
    recall, precision = _safe_div(tp, support), _safe_div(tp, predicted)
    f1 = _safe_div(2 * tp, support + predicted)
    per_class = {"precision": precision, "recall": recall, "f1": f1}
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name == "accuracy":
            out[name] = tp.sum(axis=1) / total
        elif name == "balanced_accuracy":
            present = support > 0
            out[name] = (recall * present).sum(axis=1) / present.sum(axis=1)
        elif name.split("_")[0] in per_class:
            score, average = name.split("_")
            values = per_class[score]
            out[name] = (values.mean(axis=1) if average == "macro"
                         else (values * support).sum(axis=1) / support.sum(axis=1))
        elif name == "log_loss":
            p_true = np.clip(proba[np.arange(n), y], LOG_LOSS_EPS, 1.0)
            out[name] = (w @ -np.log(p_true)) / total
        elif name == "ece":
            out[name] = _weighted_ece(correct, proba.max(axis=1), w) / total
        elif name == "roc_auc":
            out[name] = _weighted_multiclass_auc(y, proba, w)
    return out


def _weighted_ece(correct: np.ndarray, confidence: np.ndarray, w: np.ndarray) -> np.ndarray:
    bins = _onehot(confidence_bins(confidence), ECE_BINS)  # (N, bins)
    gap = w @ (bins * correct[:, None]) - w @ (bins * confidence[:, None])  # (B, bins)
    return np.abs(gap).sum(axis=1)


def _weighted_multiclass_auc(y: np.ndarray, proba: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Binary AUC on the positive class; one-vs-rest macro AUC over the classes present in
    y (probabilities renormalised over them, as `classification_metrics` does)."""
    present = np.unique(y)
    if len(present) < 2:
        return np.full(len(w), np.nan)
    if proba.shape[1] == 2:
        return weighted_auc(y, proba[:, 1], w)
    sub = proba[:, present] / proba[:, present].sum(axis=1, keepdims=True)
    aucs = np.stack([weighted_auc((y == c).astype(int), sub[:, j], w)
                     for j, c in enumerate(present)], axis=1)  # (B, classes)
    # a resample where every class's AUC is undefined is NaN, by design: no warning for it
    out = np.full(len(w), np.nan)
    defined = np.isfinite(aucs).any(axis=1)
    out[defined] = np.nanmean(aucs[defined], axis=1)
    return out


def weighted_multilabel(y: np.ndarray, proba: np.ndarray, names: Sequence[str],
                        w: np.ndarray) -> dict[str, np.ndarray]:
    """y, proba: (N, K) 0/1 and independent probabilities; w: (B, N) → metric → (B,)."""
    pred = (proba >= 0.5).astype(float)
    y = y.astype(float)
    tp, fp, fn = w @ (y * pred), w @ ((1 - y) * pred), w @ (y * (1 - pred))  # (B, K)
    total = w.sum(axis=1)
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name == "f1_micro":
            t = tp.sum(axis=1)
            out[name] = _safe_div(2 * t, 2 * t + fp.sum(axis=1) + fn.sum(axis=1))
        elif name == "f1_macro":
            out[name] = _safe_div(2 * tp, 2 * tp + fp + fn).mean(axis=1)
        elif name == "hamming_loss":
            out[name] = (w @ (y != pred).mean(axis=1)) / total
        elif name == "subset_accuracy":
            out[name] = (w @ (y == pred).all(axis=1).astype(float)) / total
        elif name == "roc_auc":
            aucs = np.stack([weighted_auc(y[:, j], proba[:, j], w)
                             for j in range(y.shape[1])], axis=1)
            out[name] = aucs.mean(axis=1)  # nan when any label is one-class, as sklearn
    return out


def weighted_regression(y: np.ndarray, pred: np.ndarray, names: Sequence[str],
                        w: np.ndarray) -> dict[str, np.ndarray]:
    """y, pred: (N,) or (N, K) in target units; w: (B, N) → metric → (B,), averaged
    uniformly over outputs as scikit-learn does."""
    y = y.reshape(len(y), -1).astype(float)
    pred = pred.reshape(len(pred), -1).astype(float)
    err = pred - y
    total = w.sum(axis=1)[:, None]
    mse = (w @ err**2) / total  # (B, K)
    out: dict[str, np.ndarray] = {}
    for name in names:
        if name == "mae":
            out[name] = ((w @ np.abs(err)) / total).mean(axis=1)
        elif name == "mse":
            out[name] = mse.mean(axis=1)
        elif name == "rmse":
            out[name] = np.sqrt(mse.mean(axis=1))
        elif name == "r2":
            ss_tot = (w @ y**2) / total - ((w @ y) / total) ** 2  # weighted variance
            r2 = np.where(ss_tot > 0, 1 - mse / np.where(ss_tot > 0, ss_tot, 1),
                          np.where(mse == 0, 1.0, 0.0))  # sklearn's force_finite
            out[name] = r2.mean(axis=1)
        elif name == "mape":
            rel = np.abs(err) / np.maximum(np.abs(y), np.finfo(np.float64).eps)
            out[name] = ((w @ rel) / total).mean(axis=1)
    return out


def weighted_scores(task_type: str, y_true: np.ndarray, y_out: np.ndarray,
                    names: Sequence[str], w: np.ndarray) -> dict[str, np.ndarray]:
    """Per-resample metrics of one target; same conventions as `metrics.score`."""
    if task_type == "classification":
        return weighted_classification(y_true.astype(int), y_out, names, w)
    if task_type == "multilabel":
        return weighted_multilabel(y_true, y_out, names, w)
    return weighted_regression(y_true, y_out, names, w)


def bootstrap(task_type: str, y_true: np.ndarray, outputs: Mapping[str, np.ndarray],
              names: Sequence[str], *, resamples: int = RESAMPLES,
              seed: int = 0) -> dict[str, dict[str, np.ndarray]]:
    """Bootstrap distributions of several predictors of the same rows, on shared resamples
    (so differences between them are paired). outputs: predictor → y_out.
    Returns predictor → metric → (resamples,)."""
    chunks: dict[str, dict[str, list[np.ndarray]]] = {p: {} for p in outputs}
    for w in resample_weights(len(y_true), resamples, seed):
        for predictor, y_out in outputs.items():
            for name, values in weighted_scores(task_type, y_true, y_out, names, w).items():
                chunks[predictor].setdefault(name, []).append(values)
    return {p: {name: np.concatenate(v) for name, v in m.items()} for p, m in chunks.items()}
