"""Task metrics on NumPy arrays, through scikit-learn. One function per task type."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from kiln.blueprint.schema import LOWER_IS_BETTER

ECE_BINS = 15  # equal-width confidence bins; 15 is the usual choice (Guo et al., 2017)
LOG_LOSS_EPS = 1e-7  # probabilities are clipped here so one confident mistake stays finite


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


def confusion(y_true: np.ndarray, pred: np.ndarray, k: int) -> np.ndarray:
    """(K, K) counts, rows = true class, columns = predicted class."""
    codes = y_true.astype(np.int64) * k + pred.astype(np.int64)
    return np.bincount(codes, minlength=k * k).reshape(k, k)


def _per_class(cm: np.ndarray) -> dict[str, np.ndarray]:
    """Per-class precision, recall and F1 from a confusion matrix (0 where undefined, as
    scikit-learn's zero_division=0), plus the support of each class."""
    tp = np.diag(cm).astype(float)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(predicted > 0, tp / predicted, 0.0)
        recall = np.where(support > 0, tp / support, 0.0)
        denom = 2 * tp + (predicted - tp) + (support - tp)
        f1 = np.where(denom > 0, 2 * tp / denom, 0.0)
    return {"precision": precision, "recall": recall, "f1": f1, "support": support}


def classification_metrics(y_true: np.ndarray, proba: np.ndarray,
                           names: Sequence[str]) -> dict[str, float]:
    """y_true: (N,) class ids; proba: (N, K) probabilities.

    Counting metrics come from one confusion matrix (they run every epoch, and scikit-learn's
    per-call validation costs ~8 ms each); ROC-AUC goes through scikit-learn."""
    k = proba.shape[1]
    pred = proba.argmax(axis=1)
    cm = confusion(y_true, pred, k)
    per_class = _per_class(cm)
    support = per_class["support"]
    out: dict[str, float] = {}
    for name in names:
        if name == "accuracy":
            out[name] = np.trace(cm) / max(cm.sum(), 1)
        elif name == "balanced_accuracy":
            out[name] = per_class["recall"][support > 0].mean()
        elif name.split("_")[0] in ("precision", "recall", "f1"):
            score, average = name.split("_")
            values = per_class[score]
            out[name] = (values.mean() if average == "macro"
                         else (values * support).sum() / max(support.sum(), 1))
        elif name == "roc_auc":
            out[name] = _roc_auc(y_true, proba)
        elif name == "log_loss":
            p_true = proba[np.arange(len(y_true)), y_true.astype(int)]
            out[name] = -np.log(np.clip(p_true, LOG_LOSS_EPS, 1.0)).mean()
        elif name == "ece":
            out[name] = expected_calibration_error(y_true, proba)
    return {k_: float(v) for k_, v in out.items()}


def _roc_auc(y_true: np.ndarray, proba: np.ndarray) -> float:
    from sklearn import metrics as m

    present = np.unique(y_true)
    if len(present) < 2:
        return float("nan")
    if proba.shape[1] == 2:
        return float(m.roc_auc_score(y_true, proba[:, 1]))
    sub = proba[:, present] / proba[:, present].sum(axis=1, keepdims=True)
    return float(m.roc_auc_score(y_true, sub, multi_class="ovr", labels=present))


def multilabel_metrics(y_true: np.ndarray, proba: np.ndarray,
                       names: Sequence[str]) -> dict[str, float]:
    """y_true: (N, K) 0/1; proba: (N, K) independent probabilities."""
    from sklearn import metrics as m

    pred = (proba >= 0.5).astype(int)
    out: dict[str, float] = {}
    for name in names:
        if name == "f1_micro":
            out[name] = m.f1_score(y_true, pred, average="micro", zero_division=0)
        elif name == "f1_macro":
            out[name] = m.f1_score(y_true, pred, average="macro", zero_division=0)
        elif name == "hamming_loss":
            out[name] = m.hamming_loss(y_true, pred)
        elif name == "subset_accuracy":
            out[name] = m.accuracy_score(y_true, pred)
        elif name == "roc_auc":
            try:
                out[name] = m.roc_auc_score(y_true, proba, average="macro")
            except ValueError:  # a label with one class only in this sample
                out[name] = float("nan")
    return {k: float(v) for k, v in out.items()}


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray,
                       names: Sequence[str]) -> dict[str, float]:
    """y_true, y_pred: (N,) or (N, K) in the target's own units."""
    from sklearn import metrics as m

    out: dict[str, float] = {}
    for name in names:
        if name == "mae":
            out[name] = m.mean_absolute_error(y_true, y_pred)
        elif name == "mse":
            out[name] = m.mean_squared_error(y_true, y_pred)
        elif name == "rmse":
            out[name] = float(np.sqrt(m.mean_squared_error(y_true, y_pred)))
        elif name == "r2":
            out[name] = m.r2_score(y_true, y_pred)
        elif name == "mape":
            out[name] = m.mean_absolute_percentage_error(y_true, y_pred)
    return {k: float(v) for k, v in out.items()}


def score(task_type: str, y_true: np.ndarray, y_out: np.ndarray,
          names: Sequence[str]) -> dict[str, float]:
    """Metrics for one target. `y_out` is probabilities (classification, multilabel) or
    values in target units (regression); unknown names for this task type are skipped."""
    if task_type == "classification":
        return classification_metrics(y_true, y_out, names)
    if task_type == "multilabel":
        return multilabel_metrics(y_true, y_out, names)
    return regression_metrics(y_true, y_out, names)


def score_targets(types: dict[str, str], y_true: dict[str, np.ndarray],
                  y_out: dict[str, np.ndarray], names: Sequence[str],
                  objective: str) -> dict[str, float]:
    """Metrics over every target. One target: plain names (`accuracy`). Several: prefixed
    (`species.accuracy`), and the plain name holds the mean over targets that have it.
    The `objective` key repeats the objective metric's value."""
    out: dict[str, float] = {}
    per_target = {t: score(types[t], y_true[t], y_out[t], names) for t in types}
    if len(per_target) == 1:
        out.update(next(iter(per_target.values())))
    else:
        for target, values in per_target.items():
            out.update({f"{target}.{k}": v for k, v in values.items()})
        for name in names:
            vals = [v[name] for v in per_target.values() if name in v]
            if vals:
                out[name] = float(np.mean(vals))
    out["objective"] = out.get(objective, float("nan"))
    return out


def better(a: float, b: float, objective: str) -> bool:
    """Is objective value `a` strictly better than `b`?"""
    if np.isnan(b):
        return not np.isnan(a)
    return a < b if objective in LOWER_IS_BETTER else a > b
