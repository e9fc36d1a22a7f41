"""Bagging (`training.bagging: k`): k models of one architecture, each trained on the
training + validation rows less one of k folds and stopped on that fold; the run's model
is their average (`kiln.model.network.Bagged`).

Why: on a small table a validation split of a few dozen rows picks the epoch by chance and
its rows never train the model. Bagged, every row trains k − 1 members and validates one,
and the average of k members varies less than any one of them (the bagging of AutoGluon's
tabular models). Where it pays, by table size, and what it costs: `kiln.starter` and
BENCHMARKS.md, "Bagging".

Folds: stratified on the first classification target; under `data.duplicates: group`
identical feature rows stay in one fold, as the split keeps them in one split. The test
split is not touched. The validation figures are out-of-fold: each training or validation
row is scored by the member that did not train on it. Members train one after another, in
memory: a bagged run writes no checkpoints and is not resumed.
"""

from __future__ import annotations

import dataclasses
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.errors import RunError
from kiln.train.inference import predict
from kiln.train.loop import FitResult, Loop
from kiln.train.progress import Silent, make_progress

if TYPE_CHECKING:
    from kiln.blueprint.schema import Blueprint
    from kiln.data.prepared import PreparedData, Split
    from kiln.model.network import Bagged

Outputs = tuple[dict[str, np.ndarray], dict[str, np.ndarray]]


class BaggedLoop(Loop):
    """Trains each member of a `Bagged` model with its own `Loop` on its own fold.

    The first member's epochs drive `epoch_callback` (tuning's pruning) and `on_epoch`
    (MLflow), and its history is the run's; every member's summary is in the result's
    `members` (metrics.json's "members").
    """

    def __init__(self, model: Bagged, data: PreparedData, blueprint: Blueprint, *,
                 quiet: bool = True, **kwargs: Any) -> None:
        super().__init__(model, data, blueprint, progress=Silent(), **kwargs)
        self.bagged = model
        self.quiet = quiet
        self.pool = join(data.train, data.val)
        self.folds = fold_rows(self.pool, data, len(model.members), blueprint)
        self.out_of_fold: dict[str, np.ndarray] = {}

    def run(self) -> FitResult:
        k = len(self.bagged.members)
        results: list[FitResult] = []
        parts: list[tuple[np.ndarray, dict[str, np.ndarray]]] = []
        members: list[dict[str, Any]] = []
        for i, (member, held_out) in enumerate(zip(self.bagged.members, self.folds,
                                                   strict=True)):
            trained = np.setdiff1d(np.arange(len(self.pool)), held_out)
            data = dataclasses.replace(self.data, train=take(self.pool, trained),
                                       val=take(self.pool, held_out))
            first = i == 0
            loop = Loop(member, data, self.bp.model_copy(update={"seed": self.bp.seed + i}),
                        device=self.device, distill=self.distill,
                        progress=make_progress(self.quiet, f"member {i + 1}/{k}"),
                        epoch_callback=self.epoch_callback if first else None,
                        on_epoch=self.on_epoch if first else None)
            result = loop.run()
            results.append(result)
            parts.append((held_out, predict(member, data.val.inputs)))
            members.append({"member": i + 1, "train_rows": len(trained),
                            "val_rows": len(held_out), "best_epoch": result.best_epoch,
                            "epochs_run": result.epochs_run,
                            "stopped_early": result.stopped_early})
            self.epoch = result.epochs_run
        self.out_of_fold = assemble(parts, len(self.pool))
        first_result = results[0]
        self.history = first_result.history
        return FitResult(first_result.history, first_result.best_epoch,
                         first_result.epochs_run, first_result.stopped_early,
                         f"{first_result.selected_by}, each of {k} members on its own fold",
                         members=members)

    def validation_outputs(self) -> Outputs | None:
        return self.out_of_fold, self.pool.targets

    def validation_scores(self) -> dict[str, float]:
        from kiln.train.inference import score_raw

        return score_raw(self.out_of_fold, self.pool.targets, self.data.preprocessor,
                         self.data.signature, self.bp.task)

    def state_dict(self) -> dict[str, Any]:
        raise RunError("a bagged run (training.bagging above 1) trains its members in memory "
                       "and keeps no checkpoint")


def join(a: Split, b: Split) -> Split:
    """Two splits' rows as one split (a's rows first)."""
    from kiln.data.prepared import Split

    return Split({k: np.concatenate([v, b.inputs[k]]) for k, v in a.inputs.items()},
                 {k: np.concatenate([v, b.targets[k]]) for k, v in a.targets.items()},
                 np.concatenate([a.index, b.index]))


def take(split: Split, rows: np.ndarray) -> Split:
    from kiln.data.prepared import Split

    return Split({k: v[rows] for k, v in split.inputs.items()},
                 {k: v[rows] for k, v in split.targets.items()}, split.index[rows])


def fold_rows(pool: Split, data: PreparedData, k: int, blueprint: Blueprint) -> list[np.ndarray]:
    """The held-out rows of each of `k` folds of `pool` (sorted positions).

    Stratified on the first classification target when there is one; under
    `data.duplicates: group` rows with identical model inputs share a fold. Raises
    `RunError` when the rows cannot make `k` folds.
    """
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    groups = (input_groups(pool) if blueprint.data.duplicates == "group"
              else np.arange(len(pool)))
    distinct = len(np.unique(groups))
    if distinct < k:
        raise RunError(f"training.bagging: {k} members need at least {k} distinct training "
                       f"and validation rows, and this table has {distinct} — lower "
                       f"training.bagging")
    labels = next((pool.targets[o.name] for o in data.signature.outputs
                   if o.type == "classification"), None)
    seed = blueprint.seed % 2**32
    with warnings.catch_warnings():  # a class rarer than k rows cannot be in every fold
        warnings.simplefilter("ignore", UserWarning)
        if labels is not None:
            splitter: Any = StratifiedGroupKFold(k, shuffle=True, random_state=seed)
            folds = splitter.split(groups, labels, groups)
        else:
            folds = GroupKFold(k, shuffle=True, random_state=seed).split(groups, None, groups)
        return [np.sort(held_out) for _, held_out in folds]


def input_groups(split: Split) -> np.ndarray:
    """(N,) a group id per row: rows whose model inputs are identical share one."""
    rows = np.concatenate([np.ascontiguousarray(split.inputs[k]).reshape(len(split), -1)
                           .view(np.uint8) for k in sorted(split.inputs)], axis=1)
    keys = np.ascontiguousarray(rows).view(np.dtype((np.void, rows.shape[1])))
    return np.unique(keys.ravel(), return_inverse=True)[1].ravel()


def assemble(parts: list[tuple[np.ndarray, dict[str, np.ndarray]]],
             rows: int) -> dict[str, np.ndarray]:
    """Per-fold outputs (held-out rows, outputs of those rows) as arrays over all `rows`."""
    out: dict[str, np.ndarray] = {}
    for held_out, outputs in parts:
        for name, values in outputs.items():
            if name not in out:
                out[name] = np.zeros((rows, *values.shape[1:]), dtype=values.dtype)
            out[name][held_out] = values
    return out
