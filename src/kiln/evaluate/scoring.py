"""Metrics with bootstrap intervals over every target, for several predictors of the same
rows (the model and its baselines), on shared resamples so that their differences are paired.

Names follow `score_targets`: plain (`accuracy`) for one target; with several targets,
prefixed (`species.accuracy`) and the plain name holds the mean over targets.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence

import numpy as np

from kiln.evaluate.bootstrap import RESAMPLES, Estimate, bootstrap, interval
from kiln.metrics import score

Outputs = Mapping[str, np.ndarray]  # target → y_out (probabilities or target units)


def distributions(types: Mapping[str, str], y_true: Outputs,
                  predictors: Mapping[str, Outputs], names: Sequence[str], *,
                  resamples: int = RESAMPLES, seed: int = 0,
                  keep: Sequence[str] = ()) -> dict[str, dict[str, tuple[float, np.ndarray]]]:
    """predictor → metric → (point estimate, bootstrap samples (resamples,)).

    With several targets a plain-name mean is kept when two or more targets have the
    metric, or when the name is in `keep` (the objective): a "mean" of one is a duplicate."""
    out: dict[str, dict[str, tuple[float, np.ndarray]]] = {p: {} for p in predictors}
    per_target: dict[str, dict[str, dict[str, tuple[float, np.ndarray]]]] = {}
    for target, kind in types.items():
        outputs = {p: y_out[target] for p, y_out in predictors.items()}
        # Same n and seed for every target → the same resampled rows: their mean is paired.
        samples = bootstrap(kind, y_true[target], outputs, names, resamples=resamples,
                            seed=seed)
        with warnings.catch_warnings():  # an undefined metric on a small slice is nan
            warnings.simplefilter("ignore")
            points = {p: score(kind, y_true[target], outputs[p], names) for p in predictors}
        per_target[target] = {p: {name: (value, samples[p][name])
                                  for name, value in points[p].items()} for p in predictors}
    for p in predictors:
        if len(types) == 1:
            out[p] = next(iter(per_target.values()))[p]
            continue
        for target in types:
            out[p].update({f"{target}.{k}": v for k, v in per_target[target][p].items()})
        for name in names:
            have = [per_target[t][p][name] for t in types if name in per_target[t][p]]
            if len(have) >= 2 or (have and name in keep):
                out[p][name] = (float(np.mean([v for v, _ in have])),
                                np.mean([s for _, s in have], axis=0))
    return out


def estimates(dists: Mapping[str, tuple[float, np.ndarray]]) -> dict[str, Estimate]:
    """metric → point estimate with its 95% percentile interval."""
    return {name: Estimate(value, *interval(samples)) for name, (value, samples) in dists.items()}


def paired_difference(a: tuple[float, np.ndarray], b: tuple[float, np.ndarray]) -> Estimate:
    """a − b with the interval of the paired bootstrap difference."""
    return Estimate(a[0] - b[0], *interval(a[1] - b[1]))


def metric_order(task_types: Sequence[str], chosen: Sequence[str]) -> list[str]:
    """The blueprint's metrics first, then every other metric of the task types."""
    from kiln.blueprint.schema import metric_names_for

    names = list(chosen)
    for kind in dict.fromkeys(task_types):
        names += [n for n in metric_names_for(kind) if n not in names]
    return names
