"""Champion and challenger answer the same fresh holdout; per-row outcomes and metrics.

Both are scored as *bundles* (ONNX Runtime + the bundle's own preprocessing), the way they
serve, so the comparison is of what would answer requests. The first target decides:

    classification  per row: is the top class right?   metric: accuracy  test: McNemar
    multilabel      per row: is every label right?     metric: subset accuracy  test: McNemar
    regression      per row: the error (first column)  metric: MAE       test: paired bootstrap
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.evaluate.bootstrap import Estimate
from kiln.retrain.gate import PairedTest, estimate, mcnemar, paired_bootstrap

if TYPE_CHECKING:
    import pandas as pd

    from kiln.blueprint.retrain_spec import GateSpec
    from kiln.blueprint.schema import Blueprint


@dataclass(frozen=True)
class Judgement:
    """Both models on the fresh holdout: the metric with its interval, and the paired test."""

    metric: str
    champion: Estimate
    challenger: Estimate
    test: PairedTest
    rows: int

    def side(self, which: str) -> dict[str, Any]:
        value = self.champion if which == "champion" else self.challenger
        return {self.metric: value.to_dict()}


def outcomes(bundle_path: str | Path, holdout: pd.DataFrame,
             blueprint: Blueprint) -> np.ndarray:
    """Per holdout row: 1.0/0.0 right or wrong (classification, multilabel) or the signed
    error in target units (regression) of the bundle's first head."""
    from kiln.bundle import load

    bundle = load(bundle_path)
    target = blueprint.task.targets[0]
    fields = [f["name"] for f in bundle.fields]
    columns = {name: holdout[name].tolist() for name in fields}
    predicted = bundle.predict_columns(columns)[target.name]
    truth_columns = {c: holdout[c].tolist()  # the preprocessor encodes every target
                     for t in blueprint.task.targets for c in t.source_columns}
    if target.type == "regression":
        truth = np.asarray(holdout[target.source_columns[0]], dtype=np.float64)
        return np.asarray(predicted, dtype=np.float64).reshape(len(truth), -1)[:, 0] - truth
    truth_ids = bundle.preprocessor.transform_targets(truth_columns)[target.name]
    if target.type == "multilabel":
        return np.all((predicted > 0.5) == (truth_ids > 0.5), axis=1).astype(np.float64)
    return (np.argmax(predicted, axis=1) == truth_ids).astype(np.float64)


def judge(champion: str | Path, challenger: str | Path, holdout: pd.DataFrame,
          blueprint: Blueprint, gate: GateSpec, *, seed: int = 0) -> Judgement:
    """Score both bundles on `holdout` and run the paired test of the first target."""
    a = outcomes(champion, holdout, blueprint)
    b = outcomes(challenger, holdout, blueprint)
    if blueprint.task.targets[0].type == "regression":
        test = paired_bootstrap(a, b, resamples=gate.bootstrap, seed=seed)
        return Judgement("mae", estimate(np.abs(a), resamples=gate.bootstrap, seed=seed),
                         estimate(np.abs(b), resamples=gate.bootstrap, seed=seed), test, len(a))
    name = "accuracy" if blueprint.task.targets[0].type == "classification" \
        else "subset_accuracy"
    return Judgement(name, estimate(a, resamples=gate.bootstrap, seed=seed),
                     estimate(b, resamples=gate.bootstrap, seed=seed),
                     mcnemar(a > 0.5, b > 0.5), len(a))
