"""The drift verdict's statistics: false alarms on unshifted windows, power on shifted ones,
and the domain classifier on a change no single feature shows. Fixed seeds throughout."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from monitor_helpers import population

from kiln.blueprint.monitor_spec import MonitorSpec
from kiln.monitor.check import drift_of, text_vocabularies
from kiln.monitor.drift import Series, drift_table, input_matrix
from kiln.monitor.registry import Reference
from kiln.monitor.window import window_from_answers

RESAMPLES = 200
LIVE_ROWS = 500


def _window(bundle: Any, frame: Any) -> Any:
    names = [f["name"] for f in bundle.fields]
    columns = {n: frame[n].tolist() for n in names}
    head = bundle.outputs[0]
    probabilities = bundle.predict_columns(columns)[head["name"]]
    return window_from_answers(bundle.fields, columns, probabilities, head["labels"],
                               vocab=text_vocabularies(bundle))


def _verdicts(bundle: Any, seeds: range, **shift: Any) -> list[set[str]]:
    """Per resample: the series in which drift was called (empty set: no drift)."""
    spec = MonitorSpec()
    out = []
    for seed in seeds:
        _, results = drift_of(bundle, _window(bundle, population(LIVE_ROWS, seed, **shift)),
                              spec)
        out.append({r.feature for r in results if r.drifted})
    return out


def max_false_alarms(n: int, rate: float = 0.05, risk: float = 0.01) -> int:
    """The most alarms out of `n` that a true false-alarm rate of `rate` still explains
    (one-sided binomial test at level `risk`): more would reject 'rate ≤ 5%'."""
    from scipy import stats

    return int(stats.binom.ppf(1 - risk, n, rate))


@pytest.mark.slow
def test_false_alarm_rate_of_the_verdict_is_at_most_five_percent(shop_bundle: Any) -> None:
    verdicts = _verdicts(shop_bundle, range(1000, 1000 + RESAMPLES))
    alarms = sum(bool(v) for v in verdicts)
    print(f"false alarms: {alarms}/{RESAMPLES}")
    assert alarms <= max_false_alarms(RESAMPLES), verdicts


@pytest.mark.slow
def test_half_sd_shift_of_one_feature_is_detected(shop_bundle: Any) -> None:
    verdicts = _verdicts(shop_bundle, range(2000, 2000 + RESAMPLES), shift=0.5)
    caught = sum("x1" in v for v in verdicts)
    assert caught / RESAMPLES >= 0.95


@pytest.mark.slow
def test_category_mix_shift_is_detected(shop_bundle: Any) -> None:
    verdicts = _verdicts(shop_bundle, range(3000, 3000 + RESAMPLES), city_p=[0.4, 0.3, 0.3])
    caught = sum("city" in v for v in verdicts)
    assert caught / RESAMPLES >= 0.95


def _correlated(rows: int, rho: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=rows)
    return np.column_stack([x1, rho * x1 + np.sqrt(1 - rho**2) * rng.normal(size=rows)])


def test_correlation_flip_is_caught_only_by_the_domain_classifier() -> None:
    spec = MonitorSpec()
    reference = _correlated(2000, 0.7, 0)
    caught = 0
    for seed in range(20):
        live = _correlated(LIVE_ROWS, -0.7, 100 + seed)
        series = [Series(f"x{j + 1}", "numeric", Reference("numeric", values=reference[:, j]),
                         live[:, j]) for j in range(2)]
        results = drift_table(series, spec, input_matrix(series))
        per_feature = [r for r in results if r.role == "input"]
        assert not any(r.drifted for r in per_feature), per_feature
        domain = next(r for r in results if r.test == "domain_classifier")
        caught += domain.drifted
        assert domain.statistic > 0.6
    assert caught == 20


def test_binned_fallback_without_a_reference_sample(shop_bundle: Any) -> None:
    """A bundle exported before the sample existed: numeric tests run on the histogram
    (marked not exact), no domain classifier, and a clear shift is still caught."""
    from kiln.bundle import load

    bundle = load(shop_bundle.path)
    bundle.profile.pop("sample")
    spec = MonitorSpec()
    _, calm = drift_of(bundle, _window(bundle, population(LIVE_ROWS, 7)), spec)
    _, moved = drift_of(bundle, _window(bundle, population(LIVE_ROWS, 8, shift=1.0)), spec)
    assert not any(r.exact for r in calm if r.test in ("ks", "psi", "wasserstein"))
    assert all(r.test != "domain_classifier" for r in calm)
    assert not any(r.drifted for r in calm)
    assert any(r.feature == "x1" and r.drifted for r in moved)
