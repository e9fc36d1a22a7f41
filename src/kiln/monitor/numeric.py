"""Drift tests of one numeric feature (also used for text length, OOV share, pixel
statistics, regression outputs and confidence).

Exact tests use the raw training sample in profile.json; for a bundle without one they
fall back to the profile's 20-bin histogram and say so (`Measure.exact` is False).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kiln.monitor.registry import Measure, Reference, drift_test

PSI_BINS = 10  # reference deciles: every bin holds a tenth of training
SMOOTHING = 0.5  # pseudo-count per bin so that an empty bin cannot make PSI infinite


def _bin_counts(reference: Reference, live: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference and live counts on common bins: reference deciles (exact) or the
    profile's histogram edges (binned); values beyond the edges go to the end bins."""
    if reference.values is not None:
        edges = np.unique(np.quantile(reference.values, np.linspace(0, 1, PSI_BINS + 1)))
        ref = _counts(reference.values, edges)
    else:
        assert reference.edges is not None and reference.counts is not None
        edges, ref = reference.edges, reference.counts.astype(np.float64)
    return ref, _counts(live, edges)


def _counts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    if edges.size < 2:  # a constant reference: one bin for it, one for anything else
        return np.array([np.sum(values == edges[0]), np.sum(values != edges[0])], float)
    inner = edges[1:-1]
    index = np.searchsorted(inner, values, side="right")  # (N,) bin of each value
    return np.bincount(index, minlength=edges.size - 1).astype(np.float64)


@drift_test("ks", kind="numeric", family="p_value",
            summary="two-sample Kolmogorov–Smirnov (exact: raw rows; binned: chi-square "
                    "on the histogram)")
def ks(reference: Reference, live: np.ndarray, spec: Any) -> Measure:
    """Two-sample Kolmogorov–Smirnov on raw rows; without a sample, chi-square on bins."""
    from scipy import stats

    if reference.values is None:
        return binned_chi_square(reference, live)
    result = stats.ks_2samp(reference.values, live, method="asymp")
    return Measure(float(result.statistic), float(result.pvalue), True)


def binned_chi_square(reference: Reference, live: np.ndarray) -> Measure:
    """Chi-square test of homogeneity on the profile's histogram bins (no raw sample)."""
    from scipy import stats

    ref, cur = _bin_counts(reference, live)
    keep = (ref + cur) > 0
    table = np.vstack([ref[keep], cur[keep]])
    if table.shape[1] < 2:
        return Measure(0.0, 1.0, False)
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    return Measure(float(chi2), float(p), False, {"bins": int(table.shape[1])})


@drift_test("wasserstein", kind="numeric", family="distance", threshold="wasserstein",
            summary="Wasserstein distance divided by the reference standard deviation")
def wasserstein(reference: Reference, live: np.ndarray, spec: Any) -> Measure:
    """Wasserstein-1 distance in reference standard deviations. Binned: both sides on the
    profile's histogram bins (at their centres; live values beyond the edges in the end
    bins), so that binning alone adds no distance."""
    from scipy import stats

    if reference.values is not None:
        ref_values, weights, live_values, live_weights = reference.values, None, live, None
    else:
        assert reference.edges is not None and reference.counts is not None
        ref_values = live_values = (reference.edges[:-1] + reference.edges[1:]) / 2
        weights = reference.counts.astype(np.float64)
        live_weights = _counts(live, reference.edges)
        if weights.sum() == 0 or live_weights.sum() == 0:
            return Measure(0.0, None, False)
    mean = np.average(ref_values, weights=weights)
    std = float(np.sqrt(np.average((ref_values - mean) ** 2, weights=weights)))
    distance = stats.wasserstein_distance(ref_values, live_values, u_weights=weights,
                                          v_weights=live_weights)
    scale = std if std > 0 else max(abs(float(mean)), 1.0)  # a constant feature: its size
    return Measure(float(distance / scale), None, reference.exact)


@drift_test("psi", kind="numeric", family="distance", threshold="psi",
            summary="population stability index on reference deciles (binned: histogram)")
def psi(reference: Reference, live: np.ndarray, spec: Any) -> Measure:
    """Population stability index: Σ (live − ref) · ln(live / ref) over shares per bin."""
    ref, cur = _bin_counts(reference, live)
    p = (ref + SMOOTHING) / (ref.sum() + SMOOTHING * ref.size)
    q = (cur + SMOOTHING) / (cur.sum() + SMOOTHING * cur.size)
    return Measure(float(np.sum((q - p) * np.log(q / p))), None, reference.exact)
