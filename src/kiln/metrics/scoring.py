"""Scoring over one or several targets, and the direction of an objective."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from kiln.metrics.classification import Counts
from kiln.metrics.multilabel import Labels
from kiln.metrics.registry import get, lower_is_better
from kiln.metrics.regression import Values


def score(task_type: str, y_true: np.ndarray, y_out: np.ndarray,
          names: Sequence[str]) -> dict[str, float]:
    """Metrics for one target. `y_out` is probabilities (classification, multilabel) or
    values in target units (regression); names not registered for this task are skipped."""
    context: Any
    if task_type == "classification":
        context = Counts(y_true, y_out)
    elif task_type == "multilabel":
        context = Labels(y_true, y_out)
    else:
        context = Values(y_true, y_out)
    out: dict[str, float] = {}
    for name in names:
        entry = get(task_type, name)
        if entry is not None:
            out[name] = float(entry.fn(context))
    return out


def score_targets(types: dict[str, str], y_true: dict[str, np.ndarray],
                  y_out: dict[str, np.ndarray], names: Sequence[str],
                  objective: str) -> dict[str, float]:
    """Metrics over every target. One target: plain names (`accuracy`). Several: prefixed
    (`species.accuracy`), and the plain name holds the mean over targets that have it.
    The `objective` key repeats the objective metric's value."""
    out: dict[str, float] = {}
    per_target = {t: score(types[t], y_true[t], y_out[t], names) for t in types}
    if len(per_target) == 1:
        out.update(next(iter(per_target.values())))
    else:
        for target, values in per_target.items():
            out.update({f"{target}.{k}": v for k, v in values.items()})
        for name in names:
            vals = [v[name] for v in per_target.values() if name in v]
            if vals:
                out[name] = float(np.mean(vals))
    out["objective"] = out.get(objective, float("nan"))
    return out


def better(a: float, b: float, objective: str) -> bool:
    """Is objective value `a` strictly better than `b`?"""
    if np.isnan(b):
        return not np.isnan(a)
    return a < b if lower_is_better(objective) else a > b
