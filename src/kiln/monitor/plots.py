"""The monitor page's figures, drawn with the report's matplotlib helpers (Agg canvas,
base64 PNG): reference-vs-live distributions per series, accuracy over time with its
intervals and the confidence-based estimate beside it, and latency over time."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kiln.monitor.drift import Series, present
from kiln.report.plots import _figure, to_png

MAX_PANELS = 12  # the most drifted series first, when there are more


def distributions(series: Sequence[Series], drifted: Mapping[str, bool]) -> str | None:
    """One small panel per series: reference vs live histograms (numeric) or shares
    (categorical); a drifted series gets a red title."""
    chosen = sorted(series, key=lambda s: not drifted.get(s.name, False))[:MAX_PANELS]
    chosen = [s for s in map(present, chosen) if len(s.live)]
    if not chosen:
        return None
    cols = min(3, len(chosen))
    rows = (len(chosen) + cols - 1) // cols
    fig = _figure((9.0, 2.5 * rows))
    axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
    for ax, s in zip(axes, chosen, strict=False):
        if s.kind == "numeric":
            _numeric_panel(ax, s)
        else:
            _categorical_panel(ax, s)
        ax.set_title(s.name, fontsize=9, color="tab:red" if drifted.get(s.name) else "black")
        ax.tick_params(labelsize=7)
    for ax in axes[len(chosen):]:
        ax.set_visible(False)
    axes[0].legend(fontsize=7)
    return to_png(fig)


def _numeric_panel(ax: Any, s: Series) -> None:
    ref = s.reference
    if ref.values is not None:
        low, high = np.percentile(np.r_[ref.values, s.live], [0.5, 99.5])
        edges = np.linspace(low, high if high > low else low + 1.0, 31)
        ax.hist(np.clip(ref.values, low, high), bins=edges, density=True, alpha=0.5,
                label="reference")
    elif ref.edges is not None and ref.counts is not None:
        edges = ref.edges
        widths = np.diff(edges)
        shares = ref.counts / max(ref.counts.sum(), 1) / np.where(widths > 0, widths, 1)
        ax.bar(edges[:-1], shares, width=widths, align="edge", alpha=0.5, label="reference")
    else:
        edges = np.linspace(float(s.live.min()), float(s.live.max()) + 1e-9, 31)
    ax.hist(np.clip(s.live, edges[0], edges[-1]), bins=edges, density=True, alpha=0.5,
            label="live")


def _categorical_panel(ax: Any, s: Series) -> None:
    ref = s.reference
    if ref.values is not None:
        names, counts = np.unique(ref.values.astype(str), return_counts=True)
        ref_shares = dict(zip(names.tolist(), (counts / counts.sum()).tolist(), strict=True))
    else:
        ref_shares = dict(ref.shares or {})
    names, counts = np.unique(s.live.astype(str), return_counts=True)
    live_shares = dict(zip(names.tolist(), (counts / counts.sum()).tolist(), strict=True))
    keys = sorted(set(ref_shares) | set(live_shares),
                  key=lambda k: -(ref_shares.get(k, 0) + live_shares.get(k, 0)))[:12]
    x = np.arange(len(keys))
    ax.bar(x - 0.2, [ref_shares.get(k, 0) for k in keys], 0.4, label="reference")
    ax.bar(x + 0.2, [live_shares.get(k, 0) for k in keys], 0.4, label="live")
    ax.set_xticks(x, [k[:10] for k in keys], rotation=45 if len(keys) > 4 else 0, ha="right"
                  if len(keys) > 4 else "center")


def accuracy_over_time(buckets: Sequence[Mapping[str, Any]]) -> str | None:
    """Realised accuracy per time bucket with its 95% interval, the estimated accuracy
    beside it (left); estimated against realised per bucket (right)."""
    points = [b for b in buckets if "estimated_accuracy" in b or "accuracy" in b]
    if not points:
        return None
    t = [_clock(b["start"]) for b in points]
    fig = _figure((9.0, 3.4))
    left, right = fig.subplots(1, 2, width_ratios=[2, 1])
    realised = [(x, b["accuracy"]) for x, b in zip(t, points, strict=True) if "accuracy" in b]
    if realised:
        xs = [x for x, _ in realised]
        values = np.array([a["value"] for _, a in realised])
        # clipped: rounded interval ends can sit a hair inside the value
        low = np.clip(values - np.array([a["ci95"][0] for _, a in realised]), 0, None)
        high = np.clip(np.array([a["ci95"][1] for _, a in realised]) - values, 0, None)
        left.errorbar(xs, values, yerr=[low, high], marker="o", capsize=3,
                      label="realised (95% CI)")
    estimated = [(x, b["estimated_accuracy"]["value"]) for x, b in zip(t, points, strict=True)
                 if "estimated_accuracy" in b]
    if estimated:
        left.plot([x for x, _ in estimated], [v for _, v in estimated], marker="s", ls="--",
                  label="estimated (calibrated confidence)")
    left.set(xlabel="window start (UTC)", ylabel="accuracy", title="accuracy over time",
             ylim=(0, 1.02))
    left.tick_params(axis="x", labelsize=7, rotation=30)
    left.grid(alpha=0.3)
    left.legend(fontsize=7)
    pairs = [(b["estimated_accuracy"]["value"], b["accuracy"]["value"]) for b in points
             if "accuracy" in b and "estimated_accuracy" in b]
    right.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    if pairs:
        right.scatter([p[0] for p in pairs], [p[1] for p in pairs], s=18)
    right.set(xlabel="estimated", ylabel="realised", title="estimate vs realised",
              xlim=(0, 1.02), ylim=(0, 1.02))
    right.grid(alpha=0.3)
    return to_png(fig)


def latency_over_time(buckets: Sequence[Mapping[str, Any]]) -> str | None:
    """p50 and p99 latency per time bucket."""
    if not buckets:
        return None
    t = [_clock(b["start"]) for b in buckets]
    fig = _figure((9.0, 2.8))
    ax = fig.subplots()
    ax.plot(t, [b["latency_p50_ms"] for b in buckets], marker=".", label="p50")
    ax.plot(t, [b["latency_p99_ms"] for b in buckets], marker=".", label="p99")
    ax.set(xlabel="window start (UTC)", ylabel="ms", title="latency")
    ax.tick_params(axis="x", labelsize=7, rotation=30)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return to_png(fig)


def _clock(ts: float) -> str:
    return time.strftime("%m-%d %H:%M:%S", time.gmtime(ts))
