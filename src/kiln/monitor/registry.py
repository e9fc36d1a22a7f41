"""The drift-test registry: every test is a function registered by name with a decorator.

A drift test compares one reference (`Reference`: the training sample, or the profile's
histogram / category shares when the bundle has no sample) with the live values of one
feature and returns a `Measure`. Two families:

- `p_value` tests (KS, chi-square, the domain classifier) return a p-value; the monitor
  corrects the p-values of all features together (Benjamini–Hochberg by default) and calls
  drift where the corrected p-value is at most `alpha`;
- `distance` tests (normalised Wasserstein, PSI, Jensen–Shannon, unseen share) return a
  distance; drift is a distance above the test's threshold in the blueprint.

Adding a test is one function and one decorator; `tests/monitor/test_conformance.py`
checks every registered test on a null and on a clear shift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

Kind = Literal["numeric", "categorical", "multivariate"]
Family = Literal["p_value", "distance"]


@dataclass(frozen=True)
class Reference:
    """What the bundle knows of one feature's training distribution.

    numeric: `values` (raw sample, float, NaN dropped) and/or `edges`+`counts` (histogram);
    categorical: `values` (sample, str) and/or `shares` (category → share of `rows`),
    with `known` the categories training saw; multivariate: `values` is an (N, D) matrix.
    """

    kind: Kind
    values: np.ndarray | None = None
    edges: np.ndarray | None = None
    counts: np.ndarray | None = None
    shares: dict[str, float] | None = None
    rows: int = 0
    known: frozenset[str] | None = None
    names: tuple[str, ...] = ()  # multivariate: column names

    @property
    def exact(self) -> bool:
        """True when raw training values are at hand (exact tests), False for binned."""
        return self.values is not None


@dataclass(frozen=True)
class Measure:
    """A test's answer: `statistic` (KS D, chi², AUC, a distance), its p-value for
    p-value tests, and whether it was computed from raw rows (`exact`) or from bins."""

    statistic: float
    p_value: float | None
    exact: bool
    detail: dict[str, Any] = field(default_factory=dict)


TestFn = Callable[[Reference, np.ndarray, Any], Measure]


@dataclass(frozen=True)
class DriftTest:
    name: str
    kind: Kind
    family: Family
    threshold_key: str | None  # the DriftThresholds field of a distance test
    fn: TestFn
    summary: str


TESTS: dict[str, DriftTest] = {}


def drift_test(name: str, *, kind: Kind, family: Family, threshold: str | None = None,
               summary: str = "") -> Callable[[TestFn], TestFn]:
    """Register `fn(reference, live, spec) -> Measure` as drift test `name`.

    `threshold` names the `MonitorSpec.thresholds` field a distance test is judged by.
    """
    if family == "distance" and threshold is None:
        raise ValueError(f"distance test {name!r} needs a threshold key")

    def register(fn: TestFn) -> TestFn:
        if name in TESTS:
            raise ValueError(f"drift test {name!r} is registered twice")
        TESTS[name] = DriftTest(name, kind, family, threshold, fn,
                                summary or (fn.__doc__ or "").strip().splitlines()[0])
        return fn

    return register


def run_test(name: str, reference: Reference, live: np.ndarray, spec: Any) -> Measure:
    """Run registered test `name` (`spec`: the blueprint's `MonitorSpec`)."""
    return TESTS[name].fn(reference, live, spec)


def threshold_of(test: DriftTest, spec: Any) -> float:
    """The number a test's value is compared with: its distance threshold, or `alpha`."""
    if test.threshold_key is None:
        return float(spec.alpha)
    return float(getattr(spec.thresholds, test.threshold_key))
