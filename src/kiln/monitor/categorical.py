"""Drift tests of one categorical feature (also used for predicted classes)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from kiln.monitor.registry import Measure, Reference, drift_test

MIN_EXPECTED = 5.0  # chi-square's rule of thumb: rarer categories are pooled
UNSEEN = "__unseen__"


def share_table(reference: Reference, live: np.ndarray) -> tuple[list[str], np.ndarray,
                                                                  np.ndarray]:
    """Categories and (reference, live) counts; live categories training never saw are
    counted under `__unseen__`. Reference counts are the sample's, or shares × rows."""
    known = reference.known or frozenset()
    live_counts: Counter[str] = Counter()
    for value, n in Counter(live.tolist()).items():  # C-level count, then fold unseen ones
        live_counts[value if value in known or not known else UNSEEN] += n
    if reference.values is not None:
        ref_counts: dict[str, float] = dict(Counter(reference.values.tolist()))
    else:
        ref_counts = {k: v * reference.rows for k, v in (reference.shares or {}).items()}
    names = sorted(set(ref_counts) | set(live_counts))
    return (names, np.array([ref_counts.get(n, 0.0) for n in names], float),
            np.array([live_counts.get(n, 0) for n in names], float))


@drift_test("chi_square", kind="categorical", family="p_value",
            summary="chi-square test of homogeneity of category counts")
def chi_square(reference: Reference, live: np.ndarray, spec: Any) -> Measure:
    """Chi-square test of homogeneity (reference vs live counts; rare categories pooled)."""
    from scipy import stats

    names, ref, cur = share_table(reference, live)
    total = ref + cur
    expected_min = total * min(ref.sum(), cur.sum()) / max(total.sum(), 1.0)
    rare = expected_min < MIN_EXPECTED
    if rare.any():  # pool rare categories into one column (kept when it is big enough)
        ref = np.append(ref[~rare], ref[rare].sum())
        cur = np.append(cur[~rare], cur[rare].sum())
    keep = (ref + cur) > 0
    table = np.vstack([ref[keep], cur[keep]])
    if table.shape[1] < 2:
        return Measure(0.0, 1.0, reference.exact)
    chi2, p, _, _ = stats.chi2_contingency(table, correction=False)
    return Measure(float(chi2), float(p), reference.exact,
                   {"categories": len(names), "pooled": int(rare.sum())})


@drift_test("jensen_shannon", kind="categorical", family="distance",
            threshold="jensen_shannon",
            summary="Jensen–Shannon distance (base 2) between category shares")
def jensen_shannon(reference: Reference, live: np.ndarray, spec: Any) -> Measure:
    """Jensen–Shannon distance, base 2 (0: same shares, 1: disjoint categories)."""
    from scipy.spatial import distance

    _, ref, cur = share_table(reference, live)
    if ref.sum() == 0 or cur.sum() == 0:
        return Measure(0.0, None, reference.exact)
    return Measure(float(distance.jensenshannon(ref, cur, base=2)), None, reference.exact)


@drift_test("unseen_share", kind="categorical", family="distance", threshold="unseen_share",
            summary="share of live rows with a category training never saw")
def unseen_share(reference: Reference, live: np.ndarray, spec: Any) -> Measure:
    """Share of live rows whose category is not among those seen in training."""
    known = reference.known
    if not known or live.size == 0:
        return Measure(0.0, None, True)
    unseen = Counter({k: n for k, n in Counter(live.tolist()).items() if k not in known})
    share = sum(unseen.values()) / live.size
    return Measure(float(share), None, True,
                   {"examples": [k for k, _ in unseen.most_common(5)]})
