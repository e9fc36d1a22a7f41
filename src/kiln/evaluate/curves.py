"""What the report draws, as plain JSON-able data: confusion matrix, per-class table, ROC and
precision-recall curves, calibration bins, residuals. Computed once by `evaluate` and kept
in evaluation.json, so the report needs neither the model nor the data."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kiln.metrics import ECE_BINS, confidence_bins

CURVE_POINTS = 200  # points kept per curve: smooth at report size, small in JSON
MAX_CURVES = 10  # one-vs-rest curves drawn for the classes with most support
RESIDUAL_POINTS = 2000  # scatter points kept for the residual plot


def _thin(*arrays: np.ndarray, points: int = CURVE_POINTS) -> list[list[float]]:
    """Keep ≤ `points` evenly spaced entries (ends included), rounded for JSON."""
    n = len(arrays[0])
    keep = np.unique(np.linspace(0, max(n - 1, 0), min(n, points)).round().astype(int))
    return [np.round(a[keep].astype(float), 5).tolist() for a in arrays]


def confusion(y: np.ndarray, pred: np.ndarray, k: int) -> list[list[int]]:
    """Rows: true class, columns: predicted class."""
    from sklearn.metrics import confusion_matrix

    return confusion_matrix(y, pred, labels=np.arange(k)).astype(int).tolist()


def per_class(y: np.ndarray, pred: np.ndarray, labels: Sequence[str]) -> list[dict[str, Any]]:
    """Precision, recall, F1 and support for every class (or label, multilabel)."""
    from sklearn.metrics import precision_recall_fscore_support

    multilabel = y.ndim == 2
    ids = None if multilabel else np.arange(len(labels))
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=ids, zero_division=0)
    return [{"label": str(lab), "precision": round(float(p[i]), 4),
             "recall": round(float(r[i]), 4), "f1": round(float(f[i]), 4),
             "support": int(s[i])} for i, lab in enumerate(labels)]


def binary_curves(truth: np.ndarray, score: np.ndarray) -> dict[str, Any] | None:
    """ROC and precision-recall of one yes/no question; None when only one answer occurs."""
    from sklearn.metrics import auc, average_precision_score, precision_recall_curve, roc_curve

    if len(np.unique(truth)) < 2:
        return None
    fpr, tpr, _ = roc_curve(truth, score)
    precision, recall, _ = precision_recall_curve(truth, score)
    fpr_l, tpr_l = _thin(fpr, tpr)
    rec_l, prec_l = _thin(recall[::-1], precision[::-1])
    return {"roc": {"fpr": fpr_l, "tpr": tpr_l, "auc": round(float(auc(fpr, tpr)), 5)},
            "pr": {"recall": rec_l, "precision": prec_l,
                   "ap": round(float(average_precision_score(truth, score)), 5),
                   "prevalence": round(float(np.mean(truth)), 5)}}


def class_curves(y: np.ndarray, proba: np.ndarray, labels: Sequence[str]) -> dict[str, Any]:
    """label → curves. Binary: the positive class only; multiclass: one-vs-rest for the
    MAX_CURVES classes with most support; multilabel (y is (N, K)): per label."""
    truth = y if y.ndim == 2 else np.eye(proba.shape[1], dtype=int)[y]  # (N, K)
    columns = [1] if proba.shape[1] == 2 and y.ndim == 1 else list(range(proba.shape[1]))
    columns = sorted(columns, key=lambda j: -truth[:, j].sum())[:MAX_CURVES]
    out = {}
    for j in sorted(columns):
        curves = binary_curves(truth[:, j], proba[:, j])
        if curves is not None:
            out[str(labels[j])] = curves
    return out


def calibration(y: np.ndarray, proba: np.ndarray, bins: int = ECE_BINS) -> dict[str, list[Any]]:
    """Reliability diagram of the top-class confidence: per bin, mean confidence, accuracy
    and count (empty bins are dropped). Multilabel: every (row, label) probability."""
    if y.ndim == 2:  # multilabel: each probability predicts its own 0/1
        confidence, correct = proba.ravel(), y.ravel().astype(float)
    else:
        confidence, correct = proba.max(axis=1), (proba.argmax(axis=1) == y).astype(float)
    which = confidence_bins(confidence, bins)
    count = np.bincount(which, minlength=bins)
    used = count > 0
    mean_conf = np.bincount(which, confidence, minlength=bins)[used] / count[used]
    accuracy = np.bincount(which, correct, minlength=bins)[used] / count[used]
    return {"confidence": np.round(mean_conf, 5).tolist(),
            "accuracy": np.round(accuracy, 5).tolist(), "count": count[used].tolist(),
            "kind": "label probability" if y.ndim == 2 else "top-class confidence"}


def residuals(y: np.ndarray, pred: np.ndarray, names: Sequence[str],
              seed: int = 0) -> dict[str, dict[str, list[float]]]:
    """output → actual and predicted values of ≤ RESIDUAL_POINTS random rows."""
    y, pred = y.reshape(len(y), -1), pred.reshape(len(pred), -1)
    rows = np.arange(len(y))
    if len(rows) > RESIDUAL_POINTS:
        rows = np.sort(np.random.default_rng(seed).choice(rows, RESIDUAL_POINTS, replace=False))
    return {str(name): {"actual": np.round(y[rows, j].astype(float), 6).tolist(),
                        "predicted": np.round(pred[rows, j].astype(float), 6).tolist()}
            for j, name in enumerate(names)}


def target_details(task_type: str, y: np.ndarray, y_out: np.ndarray,
                   labels: Sequence[str], seed: int = 0) -> dict[str, Any]:
    """Everything the report draws for one target."""
    if task_type == "regression":
        return {"residuals": residuals(y, y_out, labels, seed)}
    if task_type == "multilabel":
        pred = (y_out >= 0.5).astype(int)
        return {"per_class": per_class(y.astype(int), pred, labels),
                "curves": class_curves(y.astype(int), y_out, labels),
                "calibration": calibration(y.astype(int), y_out)}
    pred = y_out.argmax(axis=1)
    return {"confusion_matrix": confusion(y, pred, y_out.shape[1]),
            "per_class": per_class(y, pred, labels),
            "curves": class_curves(y, y_out, labels),
            "calibration": calibration(y, y_out)}
