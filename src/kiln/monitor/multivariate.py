"""The domain classifier: can a small model tell training rows from live rows?

Each side is sampled to the same size (at most `MonitorSpec.domain_rows`), the rows are
split in halves, and a linear discriminant (ridge-regularised least squares on the 0/1
domain label, i.e. Fisher's discriminant: closed form, milliseconds) on standardised
features, their squares and their pairwise products (so that a change of spread or of
correlation is visible, not only of means) is fitted on one half and scored on the other.
Its ROC-AUC on the held-out half is the statistic; the p-value is the one-sided
Mann–Whitney U test of live scores above reference scores — the analytic null of
AUC = 0.5, valid because the scored half was not used to fit.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kiln.monitor.registry import Measure, Reference, drift_test

MAX_QUADRATIC = 16  # columns expanded into squares and products (16 → 136 extra terms)


def expand(matrix: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Standardise, fill missing with the mean, add squares and pairwise products."""
    z = np.nan_to_num((matrix - mean) / std)  # (N, D)
    head = z[:, :MAX_QUADRATIC]
    rows, cols = np.triu_indices(head.shape[1])
    return np.hstack([z, head[:, rows] * head[:, cols]])  # (N, D + d(d+1)/2)


def discriminant(features: np.ndarray, label: np.ndarray, ridge: float = 1.0) -> np.ndarray:
    """Weights w minimising |[1 X] w − (2·label − 1)|² + ridge·|w|² (intercept free)."""
    design = np.hstack([np.ones((len(features), 1)), features])  # (N, 1 + F)
    penalty = ridge * np.eye(design.shape[1])
    penalty[0, 0] = 0.0
    return np.linalg.solve(design.T @ design + penalty, design.T @ (2 * label - 1))[1:] \
        if features.shape[1] else np.zeros(0)


@drift_test("domain_classifier", kind="multivariate", family="p_value",
            threshold="domain_auc",
            summary="held-out ROC-AUC of a classifier telling reference from live rows")
def domain_classifier(reference: Reference, live: np.ndarray, spec: Any) -> Measure:
    """ROC-AUC of a reference-vs-live discriminant on a held-out half; Mann–Whitney p."""
    from scipy import stats

    assert reference.values is not None
    rng = np.random.default_rng(0)
    n = min(len(reference.values), len(live), int(getattr(spec, "domain_rows", 2000)))
    if n < 20:
        return Measure(0.5, 1.0, True, {"rows": n})
    ref = reference.values[rng.choice(len(reference.values), n, replace=False)]
    cur = live[rng.choice(len(live), n, replace=False)]
    x = np.vstack([ref, cur]).astype(np.float64)  # (2n, D)
    y = np.r_[np.zeros(n), np.ones(n)]
    order = rng.permutation(2 * n)
    fit, score = order[: n], order[n:]
    mean = np.nanmean(x[fit], axis=0)
    std = np.nanstd(x[fit], axis=0)
    std[~(std > 0)] = 1.0
    scores = expand(x[score], mean, std) @ discriminant(expand(x[fit], mean, std), y[fit])
    live_scores, ref_scores = scores[y[score] == 1], scores[y[score] == 0]
    if live_scores.size == 0 or ref_scores.size == 0:
        return Measure(0.5, 1.0, True, {"rows": n})
    u = stats.mannwhitneyu(live_scores, ref_scores, alternative="greater")
    auc = float(u.statistic) / (live_scores.size * ref_scores.size)
    return Measure(auc, float(u.pvalue), True, {"rows": n, "features": list(reference.names)})
