"""The report's figures, drawn from evaluation.json data with matplotlib's Agg canvas and
returned as base64 PNG, so report.html stays one self-contained file.

Figures are built with `matplotlib.figure.Figure` directly, not pyplot: no global state, no
GUI backend, safe to call from any thread.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import Any

DPI = 110
WIDE = (9.0, 3.6)
SQUARE = (4.6, 4.2)
SKIP_KEYS = {"epoch", "lr", "seconds", "time", "step", "val.objective"}


def _figure(size: tuple[float, float]) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=size, dpi=DPI, layout="constrained")


def to_png(fig: Any) -> str:
    """A figure → base64-encoded PNG text."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _flat(row: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"val": {"accuracy": 0.9}} → {"val.accuracy": 0.9}."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if isinstance(value, Mapping):
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


UNIT_METRICS = ("mae", "mse", "rmse", "mape")  # errors in target units: not on a 0..1 scale


def curve_panels(keys: Sequence[str]) -> list[tuple[list[str], str]]:
    """Series keys → panels that share a scale: losses, errors in target units (MAE,
    RMSE, ...), and scores (accuracy, R², ...) — R² beside RMSE would be a flat line."""
    losses = [k for k in keys if "loss" in k]
    errors = [k for k in keys if k not in losses and k.rsplit(".", 1)[-1] in UNIT_METRICS]
    scores = [k for k in keys if k not in losses and k not in errors]
    return [(group, title) for group, title in ((losses, "loss"),
                                                (errors, "validation errors (target units)"),
                                                (scores, "validation metrics")) if group]


def learning_curves(rows: Sequence[Mapping[str, Any]]) -> str | None:
    """Losses on the left, other validation metrics on the right, per epoch.
    `rows`: metrics.json's history, one (possibly nested) mapping per epoch."""
    from matplotlib.ticker import MaxNLocator

    history = [_flat(row) for row in rows]
    numeric, seen = [], set()
    for key in dict.fromkeys(k for row in history for k in row):
        values = tuple(row.get(key) for row in history)
        if key in SKIP_KEYS or values in seen \
                or not all(isinstance(v, int | float) for v in values if v is not None):
            continue  # a multi-target mean of one target repeats that target's series
        seen.add(values)
        numeric.append(key)
    if not history or not numeric:
        return None
    epochs = [row.get("epoch", i + 1) for i, row in enumerate(history)]
    panels = curve_panels(numeric)
    fig = _figure(WIDE)
    for ax, (keys, title) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels,
                                 strict=True):
        for key in keys:
            ax.plot(epochs, [row.get(key, float("nan")) for row in history], marker=".",
                    label=key)
        ax.set(xlabel="epoch", title=title)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    return to_png(fig)


def confusion_matrix(matrix: Sequence[Sequence[int]], labels: Sequence[str]) -> str:
    """Counts per (true, predicted) class; colour is the share of the true class's rows."""
    import numpy as np

    counts = np.asarray(matrix, dtype=float)
    share = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    k = len(labels)
    side = min(7.0, 2.5 + 0.45 * k)
    fig = _figure((side + 1.3, side))
    ax = fig.subplots()
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of true class")
    ticks = range(k)
    slanted = k > 6 and max(len(str(x)) for x in labels) > 3  # long names would overlap
    ax.set_xticks(ticks, [str(x) for x in labels], rotation=45 if slanted else 0,
                  ha="right" if slanted else "center", fontsize=8)
    ax.set_yticks(ticks, [str(x) for x in labels], fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 20:
        for i in range(k):
            for j in range(k):
                ax.text(j, i, f"{int(counts[i, j])}", ha="center", va="center", fontsize=8,
                        color="white" if share[i, j] > 0.6 else "black")
    return to_png(fig)


def roc_and_pr(curves: Mapping[str, Mapping[str, Any]]) -> str:
    """ROC curves (left) and precision-recall curves (right), one line per class."""
    fig = _figure(WIDE)
    roc_ax, pr_ax = fig.subplots(1, 2)
    for label, c in curves.items():
        roc_ax.plot(c["roc"]["fpr"], c["roc"]["tpr"], label=f"{label} (AUC {c['roc']['auc']:.3f})")
        pr_ax.plot(c["pr"]["recall"], c["pr"]["precision"],
                   label=f"{label} (AP {c['pr']['ap']:.3f})")
    roc_ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    roc_ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC",
               xlim=(0, 1), ylim=(0, 1.02))
    pr_ax.set(xlabel="recall", ylabel="precision", title="precision-recall", xlim=(0, 1),
              ylim=(0, 1.02))
    for ax in (roc_ax, pr_ax):
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="lower right" if ax is roc_ax else "lower left")
    return to_png(fig)


def calibration(bins: Mapping[str, Sequence[float]]) -> str:
    """Reliability diagram: observed accuracy against confidence, with the row counts."""
    fig = _figure(SQUARE)
    ax, hist = fig.subplots(2, 1, height_ratios=[3, 1], sharex=True)
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfectly calibrated")
    ax.plot(bins["confidence"], bins["accuracy"], marker="o", label="model")
    ax.set(ylabel="observed accuracy", title=f"calibration ({bins.get('kind', 'confidence')})",
           xlim=(0, 1), ylim=(0, 1.02))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    hist.bar(bins["confidence"], bins["count"], width=0.05, color="tab:blue", alpha=0.6)
    hist.set(xlabel="predicted probability", ylabel="rows")
    return to_png(fig)


def residuals(points: Mapping[str, Sequence[float]], name: str) -> str:
    """Predicted against actual (left) and residual against predicted (right)."""
    import numpy as np

    actual, predicted = np.asarray(points["actual"]), np.asarray(points["predicted"])
    fig = _figure(WIDE)
    left, right = fig.subplots(1, 2)
    left.scatter(actual, predicted, s=8, alpha=0.5)
    low, high = float(min(actual.min(), predicted.min())), float(max(actual.max(),
                                                                     predicted.max()))
    left.plot([low, high], [low, high], ls="--", color="grey", lw=1)
    left.set(xlabel=f"actual {name}", ylabel=f"predicted {name}", title="predicted vs actual")
    right.scatter(predicted, predicted - actual, s=8, alpha=0.5)
    right.axhline(0, ls="--", color="grey", lw=1)
    right.set(xlabel=f"predicted {name}", ylabel="residual (predicted − actual)",
              title="residuals")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    return to_png(fig)
