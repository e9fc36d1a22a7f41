"""`train()`: blueprint → a run directory and an MLflow run. setup → loop → finish.

Data is prepared and the model built before the run directory exists, so a bad input
leaves nothing behind. Once the directory exists, a failure marks it `failed` (or
`pruned` for a tuning trial stopped early) and the exception propagates.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kiln.errors import RunError
from kiln.runs.run import Run, load_resumable
from kiln.train.loop import EpochCallback
from kiln.train.session import (
    check_unchanged_data,
    execute,
    make_loop,
    open_run,
    prepare,
    reopen_run,
    training_context,
)

if TYPE_CHECKING:
    from kiln.blueprint.schema import Blueprint
    from kiln.data.prepared import PreparedData
    from kiln.train.losses import Distillation


def train(blueprint: Blueprint | None = None, *, data: PreparedData | None = None,
          cv: int | None = None, resume: str | None = None, quiet: bool = False,
          epoch_callback: EpochCallback | None = None, distill: Distillation | None = None,
          parent_run_id: str | None = None, run_name: str | None = None,
          tracking: bool = True, nproc: int | None = None) -> Run:
    """Train the blueprint's model and return its `Run`.

    data: already prepared data (default: `prepare_data(blueprint)`); cv: k-fold cross-
    validation (returns the first fold's run with the summary under metrics["cv"]);
    resume: a run id (or prefix, or directory) to continue from its last checkpoint;
    epoch_callback(epoch, val_metrics): called after each epoch, may raise to stop;
    distill: train against a teacher; parent_run_id: nest the MLflow run;
    tracking=False: no MLflow run; nproc: train (or resume) as DistributedDataParallel on
    `nproc` local processes under torchrun (`kiln.train.launch`; multi-node: `launch`).
    Raises `RunError`, `DataError`, `BlueprintError`.
    """
    if nproc is not None:
        from kiln.train.launch import train_distributed

        return train_distributed(blueprint, nproc=nproc, data=data, cv=cv, resume=resume,
                                 quiet=quiet, epoch_callback=epoch_callback, distill=distill,
                                 parent_run_id=parent_run_id, run_name=run_name,
                                 tracking=tracking)
    if resume is not None:
        return resume_run(resume, data=data, quiet=quiet, epoch_callback=epoch_callback,
                          distill=distill, tracking=tracking)
    if blueprint is None:
        raise RunError("train: give a blueprint to train, or resume=RUN_ID to continue a run")
    if cv is not None:
        from kiln.train.cv import train_cv

        if data is not None:
            raise RunError("train: cv prepares each fold's data itself — pass cv or data, "
                           "not both")

        return train_cv(blueprint, cv, quiet=quiet, epoch_callback=epoch_callback,
                        distill=distill, parent_run_id=parent_run_id, run_name=run_name,
                        tracking=tracking)
    with training_context(blueprint):
        data = data if data is not None else prepare(blueprint)
        loop = make_loop(blueprint, data, quiet=quiet, epoch_callback=epoch_callback,
                         distill=distill)
        run, tracker = open_run(blueprint, data, loop, name=run_name or blueprint.name,
                                parent_run_id=parent_run_id, tracking=tracking)
        return execute(run, loop, tracker)


def resume_run(ref: str, *, data: PreparedData | None = None, quiet: bool = False,
               epoch_callback: EpochCallback | None = None,
               distill: Distillation | None = None, tracking: bool = True) -> Run:
    """Continue a run from `checkpoints/last.pt`; ends as the uninterrupted run would."""
    from kiln.train.checkpoint import load_checkpoint

    run = load_resumable(ref)
    state = load_checkpoint(run.dir / "checkpoints")
    blueprint = run.blueprint
    with training_context(blueprint):
        data = data if data is not None else prepare(blueprint)
        check_unchanged_data(run, data)
        loop = make_loop(blueprint, data, quiet=quiet, epoch_callback=epoch_callback,
                         distill=distill)
        loop.load_state_dict(state)
        tracker = reopen_run(run, loop, tracking=tracking)
        return execute(run, loop, tracker)


__all__ = ["resume_run", "train"]
