"""Classification metrics. Counting metrics share one confusion matrix (they run every
epoch, and scikit-learn's per-call validation costs ~8 ms each); ROC-AUC goes through
scikit-learn."""

from __future__ import annotations

from functools import cached_property

import numpy as np

from kiln.metrics.registry import metric

ECE_BINS = 15  # equal-width confidence bins; 15 is the usual choice (Guo et al., 2017)
LOG_LOSS_EPS = 1e-7  # probabilities are clipped here so one confident mistake stays finite


class Counts:
    """What every classification metric reads: y_true (N,) class ids, proba (N, K)."""

    def __init__(self, y_true: np.ndarray, proba: np.ndarray) -> None:
        self.y_true = y_true
        self.proba = proba

    @cached_property
    def pred(self) -> np.ndarray:
        return np.asarray(self.proba.argmax(axis=1))

    @cached_property
    def cm(self) -> np.ndarray:
        return confusion(self.y_true, self.pred, self.proba.shape[1])

    @cached_property
    def per_class(self) -> dict[str, np.ndarray]:
        """Per-class precision, recall and F1 (0 where undefined, as scikit-learn's
        zero_division=0), plus the support of each class."""
        cm = self.cm
        tp = np.diag(cm).astype(float)
        predicted, support = cm.sum(axis=0), cm.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(predicted > 0, tp / predicted, 0.0)
            recall = np.where(support > 0, tp / support, 0.0)
            denom = 2 * tp + (predicted - tp) + (support - tp)
            f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
        return {"precision": precision, "recall": recall, "f1": f1, "support": support}

    def averaged(self, score: str, average: str) -> float:
        values, support = self.per_class[score], self.per_class["support"]
        if average == "macro":
            return float(values.mean())
        return float((values * support).sum() / max(support.sum(), 1))


def confusion(y_true: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """(K, K) counts, rows = true class, columns = predicted class."""
    codes = y_true.astype(np.int64) * k + pred.astype(np.int64)
    return np.bincount(codes, minlength=k * k).reshape(k, k)


def confidence_bins(confidence: np.ndarray, bins: int = ECE_BINS) -> np.ndarray:
    """(N,) probabilities → (N,) index of their equal-width bin on [0, 1]."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    return np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)


def expected_calibration_error(y_true: np.ndarray, proba: np.ndarray,
                               bins: int = ECE_BINS) -> float:
    """ECE: |accuracy − confidence| averaged over equal-width confidence bins, weighted by
    the share of samples in each bin."""
    confidence = proba.max(axis=1)
    correct = (proba.argmax(axis=1) == y_true).astype(float)
    which = confidence_bins(confidence, bins)
    ece = 0.0
    for b in range(bins):
        mask = which == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


@metric("accuracy", task="classification")
def accuracy(c: Counts) -> float:
    """Share of rows whose most probable class is the true one."""
    return float(np.trace(c.cm) / max(c.cm.sum(), 1))


@metric("balanced_accuracy", task="classification")
def balanced_accuracy(c: Counts) -> float:
    """Mean recall over the classes present."""
    return float(c.per_class["recall"][c.per_class["support"] > 0].mean())


def _averaged(score: str, average: str) -> None:
    def fn(c: Counts) -> float:
        return c.averaged(score, average)

    fn.__doc__ = f"{score} per class, {average}-averaged."
    metric(f"{score}_{average}", task="classification")(fn)


for _average in ("macro", "weighted"):
    for _score in ("precision", "recall", "f1"):
        _averaged(_score, _average)


@metric("roc_auc", task="classification")
def roc_auc(c: Counts) -> float:
    """Area under the ROC curve (one-vs-rest over the classes present); NaN for one class."""
    from sklearn import metrics as m

    y_true, proba = c.y_true, c.proba
    present = np.unique(y_true)
    if len(present) < 2:
        return float("nan")
    if proba.shape[1] == 2:
        return float(m.roc_auc_score(y_true, proba[:, 1]))
    sub = proba[:, present] / proba[:, present].sum(axis=1, keepdims=True)
    return float(m.roc_auc_score(y_true, sub, multi_class="ovr", labels=present))


@metric("log_loss", task="classification", lower_is_better=True)
def log_loss(c: Counts) -> float:
    """Mean negative log probability of the true class."""
    p_true = c.proba[np.arange(len(c.y_true)), c.y_true.astype(int)]
    return float(-np.log(np.clip(p_true, LOG_LOSS_EPS, 1.0)).mean())


@metric("ece", task="classification", lower_is_better=True)
def ece(c: Counts) -> float:
    """Expected calibration error over equal-width confidence bins."""
    return expected_calibration_error(c.y_true, c.proba)
