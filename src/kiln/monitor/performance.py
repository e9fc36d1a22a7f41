"""Performance of a window: realised (from feedback labels), estimated (from calibrated
confidence, before labels arrive) and operational (latency, throughput, errors, OOD).

Estimated accuracy is confidence-based performance estimation (as NannyML's CBPE): each
answer is right with the probability its calibrated confidence says, so the expected
accuracy of a window is the mean calibrated confidence. Calibration maps a confidence
through the validation split's observed accuracy per confidence bin (profile.json,
written at export); a bundle without that table uses the raw confidence.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from kiln.monitor.window import Window

Z95 = 1.959963984540054


def wilson(correct: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a proportion (sound at small n and near 0 or 1)."""
    if n == 0:
        return (float("nan"), float("nan"))
    p = correct / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * np.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return (float(centre - half), float(centre + half))


def calibrate(confidence: np.ndarray, table: Mapping[str, Any] | None) -> np.ndarray:
    """Confidence → probability of being right, through the validation split's bins (a bin
    with fewer than 10 validation rows blends toward the raw confidence)."""
    if not table:
        return confidence
    edges = np.asarray(table["edges"], float)
    count = np.asarray(table["count"], float)
    correct = np.asarray(table["correct"], float)
    index = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, len(count) - 1)
    weight = count / (count + 10.0)  # shrinkage: trust a bin in proportion to its rows
    observed = np.divide(correct, count, out=np.zeros_like(count), where=count > 0)
    return np.where(np.isnan(confidence), np.nan,
                    weight[index] * observed[index] + (1 - weight[index]) * confidence)


def classification(window: Window, table: Mapping[str, Any] | None,
                   rows: np.ndarray | None = None) -> dict[str, Any]:
    """Realised accuracy and macro F1 on labelled rows, estimated accuracy on all rows."""
    pick = np.arange(len(window)) if rows is None else rows
    prediction, label = window.prediction[pick], window.label[pick]
    calibrated = calibrate(window.confidence[pick], table)
    present = ~np.isnan(calibrated)
    out: dict[str, Any] = {"rows": int(pick.size)}
    if present.any():
        p = calibrated[present]
        out["estimated_accuracy"] = {
            "value": float(p.mean()),
            "ci95": _around(float(p.mean()), float(np.sqrt((p * (1 - p)).sum()) / p.size)),
            "calibrated": bool(table)}
    labelled = np.asarray(label != None, dtype=bool)  # noqa: E711  (elementwise)
    out["labelled_rows"] = int(labelled.sum())
    if labelled.any():
        right = np.asarray(prediction[labelled] == label[labelled], dtype=bool)
        out["accuracy"] = {"value": float(right.mean()),
                           "ci95": wilson(int(right.sum()), int(right.size))}
        out["f1_macro"] = {"value": macro_f1(prediction[labelled].astype(str),
                                             label[labelled].astype(str))}
        both = labelled & present
        if both.any():  # how close the estimate was, on the very rows that got labels
            estimate = float(calibrated[both].mean())
            realised = float(np.mean(prediction[both] == label[both]))
            out["estimate_error"] = {"estimated": estimate, "realised": realised,
                                     "difference": estimate - realised,
                                     "rows": int(both.sum())}
    return out


def macro_f1(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Unweighted mean F1 over the classes present in truth or predictions."""
    classes = np.union1d(predicted, truth)
    scores = []
    for c in classes:
        tp = np.sum((predicted == c) & (truth == c))
        denominator = np.sum(predicted == c) + np.sum(truth == c)
        scores.append(2 * tp / denominator if denominator else 0.0)
    return float(np.mean(scores))


def regression(window: Window, rows: np.ndarray | None = None) -> dict[str, Any]:
    """Mean absolute error on labelled rows, with a normal-approximation 95% interval."""
    pick = np.arange(len(window)) if rows is None else rows
    predicted = np.array([_number(v) for v in window.prediction[pick]])
    truth = np.array([_number(v) for v in window.label[pick]])
    ok = ~np.isnan(predicted) & ~np.isnan(truth)
    out: dict[str, Any] = {"rows": int(pick.size), "labelled_rows": int(ok.sum())}
    if ok.any():
        errors = np.abs(predicted[ok] - truth[ok])
        sem = float(errors.std(ddof=1) / np.sqrt(errors.size)) if errors.size > 1 else 0.0
        out["mae"] = {"value": float(errors.mean()), "ci95": _around(float(errors.mean()), sem)}
    return out


def operations(window: Window) -> dict[str, Any]:
    """Latency percentiles, throughput, error and OOD rates of the window."""
    n = len(window)
    span = float(window.ts[-1] - window.ts[0]) if n > 1 else 0.0
    requests = window.requests if n else 0
    out: dict[str, Any] = {"rows": n, "requests": requests, "errors": window.errors,
                           "error_rate": window.errors / (requests + window.errors)
                           if requests + window.errors else 0.0,
                           "ood_rate": float(window.ood.mean()) if n else 0.0,
                           "span_seconds": span}
    if n:
        p50, p99 = np.percentile(window.latency_ms, [50, 99])
        out.update(latency_p50_ms=float(p50), latency_p99_ms=float(p99),
                   throughput_rps=requests / span if span > 0 else None,
                   rows_per_second=n / span if span > 0 else None)
    return out


def over_time(window: Window, head: Mapping[str, Any], table: Mapping[str, Any] | None,
              buckets: int = 12) -> list[dict[str, Any]]:
    """The window cut into equal time buckets, each with its performance figures."""
    if len(window) == 0:
        return []
    start, stop = float(window.ts[0]), float(window.ts[-1])
    edges = np.linspace(start, stop if stop > start else start + 1.0, buckets + 1)
    index = np.clip(np.searchsorted(edges, window.ts, side="right") - 1, 0, buckets - 1)
    out = []
    for b in range(buckets):
        rows = np.flatnonzero(index == b)
        if rows.size == 0:
            continue
        figures = classification(window, table, rows) if head["type"] == "classification" \
            else regression(window, rows)
        out.append({"start": float(edges[b]), "end": float(edges[b + 1]), **figures,
                    "latency_p50_ms": float(np.percentile(window.latency_ms[rows], 50)),
                    "latency_p99_ms": float(np.percentile(window.latency_ms[rows], 99))})
    return out


def _around(value: float, se: float) -> tuple[float, float]:
    return (value - Z95 * se, value + Z95 * se)


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
