"""Drift of every monitored series of a window against the bundle's training profile.

A *series* is one column the monitor tests: a numeric or categorical input field, a text
field's length and out-of-vocabulary share, an image field's pixel mean and spread, the
predicted class (or value) and the confidence. Each gets its tests (`select_tests`), every
p-value of the window is corrected together, and the rows of all input series together go
to the domain classifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from kiln.monitor import categorical, multivariate, numeric  # noqa: F401  (register tests)
from kiln.monitor.correction import adjust
from kiln.monitor.registry import TESTS, Reference, run_test, threshold_of

ONE_HOT_TOP = 10  # categories of a field the domain classifier sees as indicator columns


@dataclass
class Series:
    """One monitored column: its name, what it is, its reference and its live values."""

    name: str
    kind: str  # numeric | categorical
    reference: Reference
    live: np.ndarray
    role: str = "input"  # input | prediction | confidence


@dataclass
class DriftResult:
    """One test of one series. `value` is what was compared with `threshold`: the
    corrected p-value of a p-value test (drift when ≤ alpha; the domain classifier's AUC,
    which must also be ≥ its threshold), or the distance of a distance test (drift when >)."""

    feature: str
    test: str
    statistic: float
    p_value: float | None
    p_adjusted: float | None
    value: float
    threshold: float
    drifted: bool
    exact: bool
    reference_rows: int
    live_rows: int
    role: str = "input"
    detail: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def effective_rows(a: int, b: int) -> float:
    return a * b / (a + b) if a + b else 0.0


def select_tests(series: Series, spec: Any) -> list[str]:
    """KS / chi-square while the effective sample is small, Wasserstein / Jensen–Shannon
    beyond `spec.large_sample_rows` (where any tiny difference is significant); plus PSI
    (numeric) and the unseen-category share (categorical inputs)."""
    ref_rows = len(series.reference.values) if series.reference.values is not None \
        else series.reference.rows
    large = effective_rows(ref_rows, len(series.live)) > spec.large_sample_rows
    if series.kind == "numeric":
        return ["wasserstein" if large else "ks", "psi"]
    tests = ["jensen_shannon" if large else "chi_square"]
    return tests + (["unseen_share"] if series.role == "input" else [])


def drift_table(series: Sequence[Series], spec: Any,
                matrix: tuple[Reference, np.ndarray] | None = None) -> list[DriftResult]:
    """Run the selected tests of every series (and the domain classifier on `matrix`:
    reference and live rows of all inputs), then correct the p-values together."""
    pending: list[tuple[Series | None, str, Any, int, int]] = []
    for one in map(present, series):
        if len(one.live) == 0 or (one.reference.values is not None
                                  and len(one.reference.values) == 0):
            continue
        ref_rows = len(one.reference.values) if one.reference.values is not None \
            else one.reference.rows
        for name in select_tests(one, spec):
            pending.append((one, name, run_test(name, one.reference, one.live, spec),
                            ref_rows, len(one.live)))
    if matrix is not None and len(matrix[1]) > 0:
        ref, live = matrix
        measure = run_test("domain_classifier", ref, live, spec)
        pending.append((None, "domain_classifier", measure,
                        len(ref.values) if ref.values is not None else 0, len(live)))
    p_values = [m.p_value for _, name, m, _, _ in pending if TESTS[name].family == "p_value"]
    adjusted = iter(adjust([p if p is not None else 1.0 for p in p_values], spec.correction))
    results = []
    for s, name, m, ref_rows, live_rows in pending:
        test = TESTS[name]
        threshold = threshold_of(test, spec)
        if test.family == "p_value":
            p_adj = float(next(adjusted))
            effect = test.threshold_key is None or m.statistic >= threshold
            drifted = p_adj <= spec.alpha and effect
            value = m.statistic if test.threshold_key else p_adj
        else:
            p_adj, value = None, m.statistic
            drifted = m.statistic > threshold
        results.append(DriftResult(
            feature=s.name if s else "(all inputs)", test=name, statistic=m.statistic,
            p_value=m.p_value, p_adjusted=p_adj, value=float(value),
            threshold=threshold if test.threshold_key or test.family == "distance"
            else float(spec.alpha), drifted=bool(drifted), exact=m.exact,
            reference_rows=ref_rows, live_rows=live_rows,
            role=s.role if s else "multivariate", detail=m.detail))
    return results


def present(s: Series) -> Series:
    """The series without its missing values (NaN, None) on either side."""
    def keep(values: np.ndarray) -> np.ndarray:
        if values.dtype.kind == "f":
            return values[~np.isnan(values)]
        return values[np.asarray(values != None, dtype=bool)]  # noqa: E711  (elementwise)

    ref = s.reference
    if ref.values is not None:
        ref = Reference(ref.kind, values=keep(ref.values), edges=ref.edges, counts=ref.counts,
                        shares=ref.shares, rows=ref.rows, known=ref.known)
    return Series(s.name, s.kind, ref, keep(s.live), s.role)


def input_matrix(series: Sequence[Series]) -> tuple[Reference, np.ndarray] | None:
    """Reference and live rows of every input series side by side (numeric as is,
    categories as indicator columns of their most frequent values); None without a sample
    (the domain classifier needs raw rows)."""
    inputs = [s for s in series if s.role == "input"]
    if not inputs or any(s.reference.values is None for s in inputs):
        return None
    ref_cols: list[np.ndarray] = []
    live_cols: list[np.ndarray] = []
    names: list[str] = []
    for s in inputs:
        assert s.reference.values is not None
        if s.kind == "numeric":
            ref_cols.append(s.reference.values.astype(np.float64))
            live_cols.append(s.live.astype(np.float64))
            names.append(s.name)
            continue
        values, counts = np.unique(s.reference.values.astype(str), return_counts=True)
        for category in values[np.argsort(-counts)][:ONE_HOT_TOP]:
            ref_cols.append((s.reference.values == category).astype(np.float64))
            live_cols.append((s.live == category).astype(np.float64))
            names.append(f"{s.name}={category}")
    if len({len(c) for c in ref_cols}) != 1 or len({len(c) for c in live_cols}) != 1:
        return None  # a series lost rows (missing values): rows no longer line up
    return (Reference("multivariate", values=np.column_stack(ref_cols), names=tuple(names)),
            np.column_stack(live_cols))


def summary(results: Sequence[DriftResult]) -> dict[str, Any]:
    """Overall verdict: drift when any test of any series drifted."""
    drifted = [r for r in results if r.drifted]
    return {"drift_detected": bool(drifted), "tests": len(results),
            "drifted": sorted({r.feature for r in drifted}),
            "exact_tests": sum(r.exact for r in results)}
