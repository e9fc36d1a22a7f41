"""Streaming statistics: fixed-size summaries of a column seen one record batch at a time.

    RunningMoments  count, mean, M2 (→ population variance), min, max: each batch's exact
                    moments merged with Chan et al.'s parallel update, so the result does
                    not depend on how the rows were cut into batches (up to rounding)
    BottomK         a uniform sample of k items without replacement: the k smallest row
                    priorities (a hash of the row), so the same rows are kept whatever the
                    batch size or order; quantiles (the median) are read off this sample
    Counter         category / label counts (collections.Counter, merged per batch)

Memory is O(1) per column for moments and O(k) for the sample, whatever the row count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass
class RunningMoments:
    """Exact mean and population variance of every finite value seen, merged per batch."""

    count: int = 0
    mean: float = 0.0
    m2: float = 0.0  # Σ (x - mean)², the population variance times count
    low: float = float("inf")
    high: float = float("-inf")

    def update(self, x: np.ndarray) -> None:
        """Merge a batch of finite float64 values (NaN / inf are the caller's to remove)."""
        n = len(x)
        if n == 0:
            return
        # Scale to |x| <= 1 first: squares of values near 1e200 would overflow (as mean_std).
        size = float(np.abs(x).max()) or 1.0
        scaled = x / size
        b_mean = float(scaled.mean()) * size
        b_m2 = float(((scaled - scaled.mean()) ** 2).sum()) * size * size
        total = self.count + n
        delta = b_mean - self.mean
        # Chan, Golub & LeVeque (1979): combine two (count, mean, M2) summaries exactly.
        self.m2 += b_m2 + delta * delta * self.count * n / total
        self.mean += delta * n / total
        self.count = total
        self.low = min(self.low, float(x.min()))
        self.high = max(self.high, float(x.max()))

    @property
    def std(self) -> float:
        """Population standard deviation (ddof 0, as np.std): the in-memory path's scale."""
        return float(np.sqrt(max(self.m2, 0.0) / self.count)) if self.count else 0.0


class BottomK:
    """Keeps the `k` rows with the smallest uint64 priorities seen so far.

    With priorities from a good hash this is a uniform sample without replacement; as the
    kept set is a function of the priorities alone (ties: the earlier row), two runs over
    the same rows keep the same rows however the batches fall. The rows themselves live
    with the caller (an Arrow table): `offer` says which old and new positions to keep.
    """

    def __init__(self, k: int) -> None:
        self.k = k
        self.priorities = np.zeros(0, dtype=np.uint64)

    def offer(self, priorities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Offer a batch's priorities → (positions of kept old rows, of kept new rows),
        both ascending; the caller keeps `old[first] + new[second]` in that order."""
        merged = np.concatenate([self.priorities, priorities.astype(np.uint64)])
        if len(merged) > self.k:
            keep = np.sort(np.argsort(merged, kind="stable")[: self.k])
        else:
            keep = np.arange(len(merged))
        old = len(self.priorities)
        self.priorities = merged[keep]
        return keep[keep < old], keep[keep >= old] - old
