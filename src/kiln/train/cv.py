"""k-fold cross-validation: one model per fold, mean ± std of every metric.

Fold 0 is a full run (directory, checkpoints, MLflow run); folds 1..k-1 train in memory
with the same blueprint and seed. The summary goes into fold 0's metrics.json under "cv"
and into its MLflow run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.files import write_json
from kiln.train.loop import EpochCallback

if TYPE_CHECKING:
    from kiln.blueprint.schema import Blueprint
    from kiln.runs import Run
    from kiln.train.losses import Distillation


def train_cv(blueprint: Blueprint, folds: int, *, quiet: bool = False,
             epoch_callback: EpochCallback | None = None, distill: Distillation | None = None,
             parent_run_id: str | None = None, run_name: str | None = None,
             tracking: bool = True) -> Run:
    """Train `folds` models (`prepare_data(bp, fold=k)`); return fold 0's run."""
    from kiln.data import prepare_data
    from kiln.errors import RunError
    from kiln.train.session import execute, make_loop, open_run, training_context

    if folds < 2:
        raise RunError(f"--cv {folds}: cross-validation needs at least 2 folds")
    bp = blueprint.model_copy(deep=True)
    bp.set_source(blueprint.path)
    bp.data.split.folds = folds
    per_fold: list[dict[str, Any]] = []
    with training_context(bp):
        for k in range(folds):
            data = prepare_data(bp, fold=k)
            loop = make_loop(bp, data, quiet=quiet, epoch_callback=epoch_callback,
                             distill=distill, label=f"fold {k + 1}/{folds}")
            if k == 0:
                run, tracker = open_run(bp, data, loop, name=run_name or bp.name,
                                        parent_run_id=parent_run_id, tracking=tracking,
                                        extra={"cv": folds})
                execute(run, loop, tracker)
                metrics = run.metrics
                per_fold.append(fold_record(0, metrics["val"], metrics["test"],
                                            run.info.get("best_epoch", 0)))
                continue
            result = loop.run()
            val = loop.validation_scores()
            test = loop.score(data.test) if len(data.test) else {}
            per_fold.append(fold_record(k, val, test, result.best_epoch))
    summary = summarise(per_fold)
    metrics = run.metrics
    metrics["cv"] = summary
    write_json(run.dir / "metrics.json", metrics)
    if tracker is not None:
        log_cv(tracker, run, summary)
    return run


def fold_record(fold: int, val: dict[str, float], test: dict[str, float],
                best_epoch: int) -> dict[str, Any]:
    return {"fold": fold, "val": val, "test": test, "best_epoch": best_epoch}


def summarise(per_fold: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and (population) standard deviation over folds of each `split.metric`."""
    keys = sorted({f"{split}.{name}" for f in per_fold for split in ("val", "test")
                   for name in f[split]})
    mean: dict[str, float] = {}
    std: dict[str, float] = {}
    for key in keys:
        split, name = key.split(".", 1)
        values = np.array([f[split][name] for f in per_fold if name in f[split]], dtype=float)
        mean[key] = float(np.mean(values))
        std[key] = float(np.std(values))
    return {"k": len(per_fold), "folds": per_fold, "mean": mean, "std": std}


def log_cv(tracker: Any, run: Run, summary: dict[str, Any]) -> None:
    """Per-fold metrics as steps of `cv.<split>.<metric>`, mean/std as single values."""
    for fold in summary["folds"]:
        values = {f"cv.{split}.{k}": v for split in ("val", "test")
                  for k, v in fold[split].items()}
        tracker.log_metrics(values, step=fold["fold"])
    tracker.log_metrics({**{f"cv.mean.{k}": v for k, v in summary["mean"].items()},
                         **{f"cv.std.{k}": v for k, v in summary["std"].items()}})
    tracker.log_artifacts([run.dir / "metrics.json"])  # replaces the copy without "cv"
