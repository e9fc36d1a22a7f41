"""The gate: does the challenger beat the champion on the same fresh holdout?

Both models answer the same holdout rows, so the comparison is *paired*: per row, each
model is right or wrong (classification) or has an absolute error (regression).

    classification  exact McNemar test on the discordant pairs: b rows only the champion
                    gets right, c rows only the challenger does. Under "no difference" c is
                    Binomial(b + c, 1/2); the one-sided p-value is P(X ≥ c). Written by hand
                    (`math.comb`, exact for any n) rather than pulling in statsmodels.
    regression      paired bootstrap of the MAE reduction: the same resampled rows for both
                    models; p-value = (1 + #{resamples where the challenger is not better})
                    / (1 + resamples), the one-sided bootstrap p-value.

A challenger passes when its improvement is positive and at least `min_improvement`, the
test's p-value is below `alpha`, and (with `gate.budgets`) it keeps the latency and size
budgets. Otherwise the decision says which condition failed, with the figures.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from kiln.evaluate.bootstrap import Estimate, interval, resample_weights


@dataclass(frozen=True)
class PairedTest:
    """The paired test's result. `improvement`: challenger minus champion accuracy, or the
    champion's MAE minus the challenger's (positive = the challenger is better)."""

    name: str
    improvement: float
    p_value: float
    n: int
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    reason: str
    test: PairedTest
    budget_problems: list[str]

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "reason": self.reason, "test": self.test.to_dict(),
                "budget_problems": self.budget_problems}


def binomial_tail(k: int, n: int) -> float:
    """P(X ≥ k) for X ~ Binomial(n, 1/2), exactly (integers until the one division)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    return sum(math.comb(n, i) for i in range(k, n + 1)) / 2**n


def mcnemar(champion_correct: np.ndarray, challenger_correct: np.ndarray) -> PairedTest:
    """Exact one-sided McNemar test of "the challenger is right more often".

    Inputs: (N,) booleans, row i of both is the same holdout row. p = 1 when no row is
    discordant (nothing tells the models apart)."""
    a = np.asarray(champion_correct, dtype=bool)
    z = np.asarray(challenger_correct, dtype=bool)
    b = int(np.sum(a & ~z))  # only the champion is right
    c = int(np.sum(~a & z))  # only the challenger is right
    n = len(a)
    improvement = (c - b) / n if n else 0.0
    return PairedTest("mcnemar_exact", improvement, binomial_tail(c, b + c), n,
                      {"champion_only_right": b, "challenger_only_right": c})


def paired_bootstrap(champion_error: np.ndarray, challenger_error: np.ndarray, *,
                     resamples: int = 2000, seed: int = 0) -> PairedTest:
    """One-sided paired bootstrap of the MAE reduction (champion MAE − challenger MAE)."""
    diff = np.abs(champion_error) - np.abs(challenger_error)  # (N,) > 0: challenger better
    n = len(diff)
    means = np.concatenate([w @ diff / n for w in resample_weights(n, resamples, seed)])
    not_better = int(np.sum(means <= 0))
    low, high = interval(means)
    return PairedTest("paired_bootstrap", float(diff.mean()),
                      (1 + not_better) / (1 + resamples), n,
                      {"resamples": resamples, "ci95": [low, high]})


def estimate(values: np.ndarray, *, resamples: int = 2000, seed: int = 0) -> Estimate:
    """The mean of per-row values (correct 0/1 → accuracy; |error| → MAE) with its 95%
    bootstrap interval."""
    x = np.asarray(values, dtype=np.float64)
    n = len(x)
    means = np.concatenate([w @ x / n for w in resample_weights(n, resamples, seed)])
    low, high = interval(means)
    return Estimate(float(x.mean()), low, high)


def decide(test: PairedTest, *, min_improvement: float, alpha: float,
           budget_problems: list[str]) -> GateDecision:
    """Apply the gate to a paired test's result and the challenger's budget problems."""
    unit = "points of accuracy" if test.name == "mcnemar_exact" else "MAE"
    gain = f"{test.improvement:+.4f} {unit}"
    if test.improvement <= 0:
        reason = f"not better than the champion on the fresh holdout ({gain}, n={test.n})"
    elif test.improvement < min_improvement:
        reason = f"improvement {gain} is below the gate's min_improvement {min_improvement}"
    elif test.p_value >= alpha:
        reason = (f"improvement {gain} is not significant ({test.name} p={test.p_value:.4g}"
                  f" ≥ alpha {alpha}, n={test.n})")
    elif budget_problems:
        reason = "breaks a budget: " + "; ".join(budget_problems)
    else:
        return GateDecision(True, f"better by {gain} ({test.name} p={test.p_value:.4g} < "
                                  f"alpha {alpha}, n={test.n}) and within budgets",
                            test, budget_problems)
    return GateDecision(False, reason, test, budget_problems)
