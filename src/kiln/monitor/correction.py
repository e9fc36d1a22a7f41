"""Multiple-testing correction of the drift p-values of many features.

Benjamini–Hochberg comes from SciPy (`scipy.stats.false_discovery_control`); Bonferroni and
Holm are three lines each, written here because SciPy has neither (and statsmodels is not
a dependency for three lines).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def adjust(p_values: Sequence[float], method: str) -> np.ndarray:
    """Adjusted p-values (compare each with alpha), in the order given.

    `bh`: Benjamini–Hochberg (false discovery rate; the same family-wise false-alarm rate
    as Bonferroni when nothing drifted, more power when something did); `holm`: Holm's
    step-down family-wise correction; `bonferroni`: p × m.
    """
    p = np.asarray(p_values, dtype=np.float64)
    if p.size == 0:
        return p
    if method == "bh":
        from scipy import stats

        return np.asarray(stats.false_discovery_control(p, method="bh"))
    if method == "bonferroni":
        return np.minimum(p * p.size, 1.0)
    if method == "holm":
        order = np.argsort(p)
        stepped = np.maximum.accumulate(p[order] * (p.size - np.arange(p.size)))
        out = np.empty_like(p)
        out[order] = np.minimum(stepped, 1.0)
        return out
    raise ValueError(f"unknown correction {method!r} (bh, bonferroni, holm)")
