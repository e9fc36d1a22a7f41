"""One contract for every registered drift test (as scikit-learn's common tests): on a
null it rarely calls drift, on a clear shift it always does — exact (raw sample) and
binned (histogram / category shares only) alike."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from kiln.blueprint.monitor_spec import MonitorSpec
from kiln.monitor import TESTS
from kiln.monitor.registry import DriftTest, Measure, Reference, run_test, threshold_of

SEEDS = range(60)
SPEC = MonitorSpec()
SHARES = {"a": 0.5, "b": 0.3, "c": 0.2}


def _numeric(rng: np.random.Generator, shifted: bool, rows: int) -> np.ndarray:
    return rng.normal(1.0 if shifted else 0.0, 1.0, rows)


def _categorical(rng: np.random.Generator, shifted: bool, rows: int) -> np.ndarray:
    names = ["a", "b", "c", "d"]  # "d": a category training never saw
    p = [0.2, 0.3, 0.3, 0.2] if shifted else [0.5, 0.3, 0.2, 0.0]
    return rng.choice(names, rows, p=p).astype(object)


def _matrix(rng: np.random.Generator, shifted: bool, rows: int) -> np.ndarray:
    rho = -0.8 if shifted else 0.8
    x1 = rng.normal(size=rows)
    return np.column_stack([x1, rho * x1 + np.sqrt(1 - rho**2) * rng.normal(size=rows)])


def _references(kind: str) -> list[Reference]:
    rng = np.random.default_rng(12345)
    if kind == "numeric":
        values = _numeric(rng, False, 2000)
        counts, edges = np.histogram(values, bins=20)
        return [Reference("numeric", values=values),
                Reference("numeric", edges=edges, counts=counts.astype(float), rows=2000)]
    if kind == "categorical":
        values = _categorical(rng, False, 2000)
        known = frozenset(SHARES)
        shares = {k: v / 2000 for k, v in Counter(values.tolist()).items()}
        return [Reference("categorical", values=values, known=known),
                Reference("categorical", shares=shares, rows=2000, known=known)]
    return [Reference("multivariate", values=_matrix(rng, False, 2000), names=("x1", "x2"))]


LIVE = {"numeric": _numeric, "categorical": _categorical, "multivariate": _matrix}
CASES = [(name, i) for name, t in sorted(TESTS.items())
         for i in range(len(_references(t.kind)))]


def _called(test: DriftTest, measure: Measure) -> bool:
    """The test's own decision, without correction (one test, one feature)."""
    if test.family == "p_value":
        assert measure.p_value is not None and 0.0 <= measure.p_value <= 1.0
        effect = test.threshold_key is None or measure.statistic >= threshold_of(test, SPEC)
        return measure.p_value <= SPEC.alpha and effect
    assert measure.p_value is None and np.isfinite(measure.statistic)
    return measure.statistic > threshold_of(test, SPEC)


@pytest.mark.parametrize(("name", "variant"), CASES)
def test_drift_test_contract(name: str, variant: int) -> None:
    test = TESTS[name]
    reference = _references(test.kind)[variant]
    null = [_called(test, run_test(name, reference,
                                   LIVE[test.kind](np.random.default_rng(s), False, 500), SPEC))
            for s in SEEDS]
    shifted = [_called(test, run_test(name, reference,
                                      LIVE[test.kind](np.random.default_rng(s), True, 500),
                                      SPEC)) for s in SEEDS]
    # at most 5% + binomial slack at n = 60 (P(X ≥ 8 | p = 0.05) < 2%)
    assert sum(null) <= 7, f"{name}: {sum(null)}/{len(SEEDS)} false alarms"
    assert sum(shifted) == len(SEEDS), f"{name}: missed {len(SEEDS) - sum(shifted)} shifts"
    again = run_test(name, reference, LIVE[test.kind](np.random.default_rng(0), True, 500),
                     SPEC)
    first = run_test(name, reference, LIVE[test.kind](np.random.default_rng(0), True, 500),
                     SPEC)
    assert again.statistic == first.statistic  # same inputs, same answer
    assert again.exact == reference.exact or name == "unseen_share"


def test_every_test_is_documented_and_registered_once() -> None:
    from kiln.monitor.registry import drift_test

    assert {"ks", "wasserstein", "psi", "chi_square", "jensen_shannon", "unseen_share",
            "domain_classifier"} <= set(TESTS)
    assert all(t.summary for t in TESTS.values())
    with pytest.raises(ValueError, match="twice"):
        drift_test("ks", kind="numeric", family="p_value")(lambda r, x, s: Measure(0, 1, True))
