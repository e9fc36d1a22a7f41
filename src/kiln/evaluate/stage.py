"""`kiln evaluate`: a trained run → metrics with 95% intervals, classical baselines beside
them, per-slice metrics and the data the report draws; written to the run's evaluation.json.

    ev = evaluate("latest")                 # the run's own test split
    ev = evaluate(run, data="other.csv")    # every row of another table, same preprocessing
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.evaluate.bootstrap import RESAMPLES, Estimate
from kiln.evaluate.slices import Slice

if TYPE_CHECKING:
    from kiln.data.prepared import PreparedData
    from kiln.runs import Run

FILE = "evaluation.json"


@dataclass
class BaselineResult:
    """A classical model on the same rows; `vs_model` is model − baseline on the objective
    (positive: the model is better on a higher-is-better metric), from paired resamples."""

    name: str
    metrics: dict[str, Estimate]
    vs_model: Estimate
    fit_seconds: float
    train_rows: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
                "model_minus_baseline": self.vs_model.to_dict(),
                "fit_seconds": round(self.fit_seconds, 3), "train_rows": self.train_rows,
                "notes": self.notes}


@dataclass
class Evaluation:
    """What `evaluate` found; `to_dict()` is the `--json` object and evaluation.json."""

    run_id: str
    name: str
    data: str  # "test split" or the evaluated file
    rows: int
    objective: str
    direction: str  # maximize | minimize
    metrics: dict[str, Estimate]
    baselines: list[BaselineResult]
    slices: list[Slice]
    targets: dict[str, dict[str, Any]]  # per target: type, labels, confusion, curves, ...
    checks: list[dict[str, str]]
    resamples: int
    seed: int
    seconds: float = 0.0
    path: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        objective = self.metrics.get(self.objective, Estimate(*[float("nan")] * 3))
        return jsonable({
            "run_id": self.run_id, "name": self.name, "data": self.data, "rows": self.rows,
            "objective": {"name": self.objective, "direction": self.direction,
                          **objective.to_dict()},
            "metrics": {k: v.to_dict() for k, v in self.metrics.items()},
            "baselines": [b.to_dict() for b in self.baselines],
            "slices": [s.to_dict() for s in self.slices],
            "targets": self.targets,
            "checks": self.checks,
            "bootstrap": {"resamples": self.resamples, "seed": self.seed, "confidence": 0.95,
                          "method": "percentile"},
            "seconds": round(self.seconds, 3),
            "path": str(self.path) if self.path else None,
        })


@dataclass
class Rows:
    """The evaluated rows: model inputs, targets, and where they sit in the loaded table."""

    inputs: dict[str, np.ndarray]
    targets: dict[str, np.ndarray]
    table: Any  # pandas DataFrame
    index: np.ndarray
    label: str


def evaluate(run: Run | str | Path, *, data: str | Path | None = None,
             resamples: int = RESAMPLES, baselines: bool = True,
             track: bool = True) -> Evaluation:
    """Judge a run on its test split, or on every row of `data` (a table with the same
    columns) through the run's stored, already fitted preprocessing.

    Writes evaluation.json (evaluation-<file stem>.json for `data`) atomically in the run
    directory and logs the metrics to the run's MLflow run. Raises `RunError` for an
    unknown or unfinished run, `DataError` for data without the run's columns.
    """
    from kiln.evaluate.baselines import fit_baselines
    from kiln.evaluate.scoring import distributions, estimates, metric_order, paired_difference
    from kiln.evaluate.slices import slice_metrics
    from kiln.runs import load_run
    from kiln.train.inference import decode_targets, predict

    started = time.perf_counter()
    run = load_run(run) if isinstance(run, str | Path) else run
    bp, signature, pre = run.blueprint, run.signature, run.preprocessor
    model = run.load_model()  # first: an unfinished run fails before any data work
    prepared, rows = _rows(run, data)
    y_out = pre.decode(predict(model, rows.inputs))
    y_true = decode_targets(pre, signature, rows.targets)
    types = {o.name: o.type for o in signature.outputs}
    names = metric_order(list(types.values()), bp.task.metrics)
    objective = bp.task.objective or names[0]

    fits = (fit_baselines(signature, prepared.train.inputs, prepared.train.targets,
                          rows.inputs, seed=bp.seed) if baselines and prepared else [])
    predictors = {"model": y_out, **{f.name: pre.decode(f.outputs) for f in fits}}
    dists = distributions(types, y_true, predictors, names, resamples=resamples, seed=bp.seed,
                          keep=[objective])
    results = [BaselineResult(f.name, estimates(dists[f.name]),
                              paired_difference(dists["model"][objective],
                                                dists[f.name][objective]),
                              f.fit_seconds, f.train_rows, f.notes) for f in fits]
    feature_types = {f.name: f.type for f in pre.features}
    slice_names = list(dict.fromkeys([*bp.task.metrics, objective]))
    slices = slice_metrics(rows.table, rows.index, bp.data.slices, feature_types, types,
                           y_true, y_out, slice_names, resamples=resamples, seed=bp.seed,
                           keep=[objective])
    targets = {o.name: _details(o, bp, y_true[o.name], y_out[o.name])
               for o in signature.outputs}
    checks = [{"name": c.name, "level": c.level, "message": c.message}
              for c in (prepared.checks if prepared and data is None else [])]
    ev = Evaluation(run.id, bp.name, rows.label, len(rows.index), objective,
                    bp.task.direction, estimates(dists["model"]), results, slices, targets,
                    checks, resamples, bp.seed, time.perf_counter() - started)
    ev.path = run.dir / (FILE if data is None else f"evaluation-{Path(data).stem}.json")
    _write(ev)
    if track:
        _track(run, ev, "eval" if data is None else f"eval_{Path(data).stem}")
    return ev


def _details(output: Any, bp: Any, y_true: np.ndarray, y_out: np.ndarray) -> dict[str, Any]:
    """What the report draws for one target (confusion, curves, calibration, residuals)."""
    from kiln.evaluate.curves import target_details

    labels = _labels(output, bp)
    return {"type": output.type, "labels": labels,
            **target_details(output.type, y_true, y_out, labels, seed=bp.seed)}


def _labels(output: Any, bp: Any) -> list[str]:
    if output.labels:
        return [str(x) for x in output.labels]
    target = next(t for t in bp.task.targets if t.name == output.name)
    return list(target.source_columns) if output.type == "regression" else \
        [str(i) for i in range(output.size)]


def _rows(run: Run, data: str | Path | None) -> tuple[PreparedData | None, Rows]:
    """The run's data prepared again (same split) and the rows to evaluate."""
    from kiln.errors import KilnError

    if data is None:
        prepared = run.data()
        test = prepared.test
        return prepared, Rows(test.inputs, test.targets, prepared.table, test.index,
                              "test split")
    rows = load_rows(run, data)
    try:  # baselines train on the run's own train split, when its source is reachable
        return run.data(), rows
    except KilnError:
        return None, rows


def load_rows(run: Run, data: str | Path) -> Rows:
    """Every row of another table, transformed by the run's fitted preprocessor (not
    refitted). Raises `DataError` naming the file and a missing column."""
    from kiln.data.sources import load_source, parse_numeric, resolve_image_paths
    from kiln.data.stage import drop_incomplete_rows, require_columns

    pre = run.preprocessor
    features = list(pre.features)
    targets = [c for t in run.blueprint.task.targets for c in t.source_columns]
    table = load_source(data, features=features)
    require_columns(table, [f.name for f in features], "feature")
    require_columns(table, targets, "target")
    parse_numeric(table, features)
    resolve_image_paths(table, features)
    frame = drop_incomplete_rows(table.frame, features, targets)
    return Rows(pre.transform(frame), pre.transform_targets(frame), frame,
                np.arange(len(frame)), str(data))


def _write(ev: Evaluation) -> None:
    import json

    from kiln.files import atomic_write_text

    assert ev.path is not None
    atomic_write_text(ev.path, json.dumps(ev.to_dict(), indent=1, allow_nan=False) + "\n")


def jsonable(value: Any) -> Any:
    """NaN and infinities → None, recursively (JSON has no NaN)."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _track(run: Run, ev: Evaluation, prefix: str) -> None:
    """Metrics (with interval ends) and the evaluation file on the run's MLflow run."""
    mlflow_id = run.info.get("mlflow_run_id")
    if not mlflow_id:
        return
    from kiln.tracking import Tracker, client

    metrics: dict[str, float] = {}
    for name, est in ev.metrics.items():
        metrics.update({f"{prefix}.{name}": est.value, f"{prefix}.{name}.ci95_low": est.low,
                        f"{prefix}.{name}.ci95_high": est.high})
    for b in ev.baselines:
        metrics.update({f"{prefix}.baseline.{b.name}.{k}": v.value for k, v in b.metrics.items()})
    tracker = Tracker(client(), str(mlflow_id))
    tracker.log_metrics(metrics)
    if ev.path is not None:
        tracker.log_artifacts([ev.path])
