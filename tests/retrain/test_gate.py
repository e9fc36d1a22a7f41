"""The gate's paired tests against direct computations, and its decisions."""

from __future__ import annotations

import math

import numpy as np
import pytest

from kiln.evaluate.bootstrap import resample_weights
from kiln.retrain.gate import binomial_tail, decide, estimate, mcnemar, paired_bootstrap


@pytest.mark.parametrize(("k", "n"), [(0, 0), (0, 5), (3, 5), (5, 5), (6, 5), (20, 23),
                                      (40, 70), (300, 520)])
def test_binomial_tail_is_exact(k: int, n: int) -> None:
    direct = sum(math.comb(n, i) * 0.5**n for i in range(k, n + 1)) if k <= n else 0.0
    assert binomial_tail(k, n) == pytest.approx(min(1.0, direct), rel=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_mcnemar_matches_scipy_exact_binomial(seed: int) -> None:
    from scipy.stats import binomtest

    rng = np.random.default_rng(seed)
    champion = rng.random(300) < 0.75
    challenger = np.where(rng.random(300) < 0.3, ~champion, champion)  # some rows flip
    b = int(np.sum(champion & ~challenger))
    c = int(np.sum(~champion & challenger))
    test = mcnemar(champion, challenger)
    assert test.details == {"champion_only_right": b, "challenger_only_right": c}
    assert test.improvement == pytest.approx(challenger.mean() - champion.mean())
    expected = binomtest(c, b + c, 0.5, alternative="greater").pvalue
    assert test.p_value == pytest.approx(expected, rel=1e-9)


def test_mcnemar_without_discordant_rows_proves_nothing() -> None:
    same = np.array([True, False, True, True])
    test = mcnemar(same, same)
    assert test.p_value == 1.0 and test.improvement == 0.0


def test_paired_bootstrap_matches_a_direct_loop() -> None:
    rng = np.random.default_rng(3)
    champion = rng.normal(0, 1.0, 200)
    challenger = rng.normal(0, 0.8, 200)
    test = paired_bootstrap(champion, challenger, resamples=500, seed=7)
    diff = np.abs(champion) - np.abs(challenger)
    assert test.improvement == pytest.approx(diff.mean())
    # the same resamples drawn as explicit row indices (one generator, seed 7)
    idx = np.random.default_rng(7).integers(0, 200, size=(500, 200))
    means = diff[idx].mean(axis=1)  # (500,) resampled MAE reductions
    assert test.p_value == pytest.approx((1 + int(np.sum(means <= 0))) / 501)
    weights = np.concatenate(list(resample_weights(200, 500, 7)))
    assert np.allclose(weights @ diff / 200, means)


def test_paired_bootstrap_sees_a_clear_gain_and_no_gain() -> None:
    rng = np.random.default_rng(0)
    errors = rng.normal(0, 1, 150)
    assert paired_bootstrap(errors, errors * 0.5, resamples=400).p_value < 0.01
    assert paired_bootstrap(errors, errors, resamples=400).p_value == 1.0


def test_estimate_is_the_mean_with_an_interval_around_it() -> None:
    values = np.array([1.0] * 80 + [0.0] * 20)
    est = estimate(values, resamples=500)
    assert est.value == pytest.approx(0.8)
    assert est.low < 0.8 < est.high


def _test(improvement: float, p: float) -> object:
    from kiln.retrain.gate import PairedTest

    return PairedTest("mcnemar_exact", improvement, p, 100)


@pytest.mark.parametrize(("improvement", "p", "budgets", "passed", "words"), [
    (0.10, 0.001, [], True, "better by +0.1000"),
    (0.0, 1.0, [], False, "not better than the champion"),
    (-0.05, 0.9, [], False, "not better than the champion"),
    (0.01, 0.001, [], False, "below the gate's min_improvement 0.02"),
    (0.05, 0.2, [], False, "not significant"),
    (0.10, 0.001, ["max_size_mb 0.1 > 0.01"], False, "breaks a budget: max_size_mb"),
])
def test_decide_says_why(improvement: float, p: float, budgets: list[str], passed: bool,
                         words: str) -> None:
    decision = decide(_test(improvement, p), min_improvement=0.02 if improvement == 0.01
                      else 0.0, alpha=0.05, budget_problems=budgets)  # type: ignore[arg-type]
    assert decision.passed is passed
    assert words in decision.reason
