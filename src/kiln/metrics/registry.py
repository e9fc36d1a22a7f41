"""The metric registry: every metric kiln knows, registered by name with a decorator.

    @metric("accuracy", task="classification")
    def accuracy(c: Counts) -> float: ...

The blueprint's accepted metric names, the direction of an objective (`lower_is_better`)
and the scoring loop all come from this table; adding a metric is one function and one
decorator (and one reference in the conformance test, `tests/metrics/test_conformance.py`,
which checks every registered metric against scikit-learn). `import kiln.metrics` registers
the built-in metrics; NumPy only at import time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TASKS = ("classification", "multilabel", "regression")


@dataclass(frozen=True)
class Metric:
    """One registered metric. `fn` takes the task's scoring context (see `kiln.metrics`)."""

    name: str
    task: str
    fn: Callable[[Any], float]
    lower_is_better: bool
    doc: str


METRICS: dict[tuple[str, str], Metric] = {}
# Not task metrics, but objectives that can be minimised: the validation loss.
EXTRA_LOWER_IS_BETTER = {"loss"}


def metric(name: str, *, task: str, lower_is_better: bool = False
           ) -> Callable[[Callable[[Any], float]], Callable[[Any], float]]:
    """Register `fn` as metric `name` of `task` (classification, multilabel, regression)."""
    if task not in TASKS:
        raise ValueError(f"metric {name!r}: task must be one of {TASKS}, not {task!r}")

    def register(fn: Callable[[Any], float]) -> Callable[[Any], float]:
        if (task, name) in METRICS:
            raise ValueError(f"metric {name!r} is already registered for {task}")
        METRICS[(task, name)] = Metric(name, task, fn, lower_is_better,
                                       (fn.__doc__ or "").strip().split("\n")[0])
        return fn

    return register


def metric_names(task: str) -> tuple[str, ...]:
    """Names registered for `task`, in registration order."""
    return tuple(m.name for (t, _), m in METRICS.items() if t == task)


def lower_is_better(name: str) -> bool:
    """Is a smaller value of metric (or objective) `name` better?"""
    return name in EXTRA_LOWER_IS_BETTER or any(
        m.lower_is_better for (_, n), m in METRICS.items() if n == name)


def get(task: str, name: str) -> Metric | None:
    return METRICS.get((task, name))
