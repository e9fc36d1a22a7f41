"""One training session, piece by piece: prepare the data, build the loop, open the run
directory and its MLflow run, execute, finish. `train()` (one run), cross-validation (one
session per fold) and compression's fine-tuning put these together.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import torch

from kiln.errors import RunError
from kiln.runs.owner import process_owner
from kiln.runs.run import Run, create_run_dir, git_commit, now_iso, update_info
from kiln.train.loop import EpochCallback, FitResult, Loop, select_device
from kiln.train.progress import make_progress
from kiln.train.weights import environment, save_weights

if TYPE_CHECKING:
    from kiln.blueprint.schema import Blueprint
    from kiln.data.prepared import PreparedData
    from kiln.tracking import Tracker
    from kiln.train.losses import Distillation


def prepare(blueprint: Blueprint) -> PreparedData:
    from kiln.data import prepare_data

    prepared: PreparedData = prepare_data(blueprint)
    return prepared


def make_loop(blueprint: Blueprint, data: PreparedData, *, quiet: bool,
              epoch_callback: EpochCallback | None, distill: Distillation | None,
              label: str = "train") -> Loop:
    from kiln.model import build_model

    model = build_model(blueprint, data.signature)
    streamed = getattr(data, "streamed", False)  # data.streaming: batches read from the file
    if blueprint.training.bagging > 1:
        from kiln.model.network import Bagged
        from kiln.train.bagging import BaggedLoop

        if streamed:
            raise RunError("training.bagging: bagging splits the training rows into folds "
                           "in memory, and data.streaming reads them from the file — set "
                           "training.bagging: 1 or data.streaming: false")
        assert isinstance(model, Bagged)
        return BaggedLoop(model, data, blueprint, quiet=quiet, distill=distill,
                          epoch_callback=epoch_callback)
    loop_class = Loop
    if streamed:
        from kiln.train.streaming import StreamingLoop

        loop_class = StreamingLoop
    return loop_class(model, data, blueprint, distill=distill, epoch_callback=epoch_callback,
                      progress=make_progress(quiet, label))


@contextlib.contextmanager
def training_context(blueprint: Blueprint) -> Iterator[None]:
    """Thread count and deterministic kernels for the duration of a run, then restored."""
    threads = torch.get_num_threads()
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    fill = torch.utils.deterministic.fill_uninitialized_memory  # type: ignore[attr-defined]
    if blueprint.training.threads:
        torch.set_num_threads(blueprint.training.threads)
    # Same seed + machine → same metrics. On CPU deterministic kernels cost next to nothing
    # (warn_only keeps the rare op without one usable); on CUDA they cost speed, so not there.
    # The mode also fills every new tensor with NaN (to make reads of uninitialised memory
    # repeatable; no kernel kiln runs reads it): ~6 % of a digits epoch, so it is off.
    if select_device(blueprint).type == "cpu":
        torch.use_deterministic_algorithms(True, warn_only=True)
        torch.utils.deterministic.fill_uninitialized_memory = False  # type: ignore[attr-defined]
    try:
        yield
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.utils.deterministic.fill_uninitialized_memory = fill  # type: ignore[attr-defined]


def open_run(blueprint: Blueprint, data: PreparedData, loop: Loop, *, name: str,
             parent_run_id: str | None, tracking: bool,
             extra: dict[str, Any] | None = None) -> tuple[Run, Tracker | None]:
    """Create the run directory and its MLflow run; wire checkpoints and logging to the loop."""
    env = environment(loop.device.type)
    commit = git_commit(blueprint.base_dir)
    run = create_run_dir(blueprint, data, name=name,
                         extra={**env, "git_commit": commit, "parent_run_id": parent_run_id,
                                "mlflow_run_id": None,
                                **(extra or {})})
    tracker = None
    if tracking:
        from kiln.tracking import Tracker

        tags = {"kiln.run_id": run.id, "kiln.data_fingerprint": data.fingerprint,
                "kiln.seed": blueprint.seed, "kiln.git_commit": commit,
                "mlflow.source.git.commit": commit, "kiln.device": loop.device.type,
                "kiln.threads": env["threads"],
                **{f"kiln.version.{k}": v for k, v in env["versions"].items()}}
        try:
            tracker = Tracker.start(blueprint, name=name, tags=tags, parent_run_id=parent_run_id)
        except Exception:
            update_info(run, status="failed", error="could not start the MLflow run")
            raise
        update_info(run, mlflow_run_id=tracker.run_id)
    return run, tracker


def check_unchanged_data(run: Run, data: PreparedData) -> None:
    """Refuse to resume `run` on data whose fingerprint differs from the one it started on."""
    if data.fingerprint != run.info.get("data_fingerprint"):
        raise RunError(f"run {run.id}: the data changed since the run started (fingerprint "
                       f"differs) — resuming would mix two datasets; train a new run")


def reopen_run(run: Run, loop: Loop, *, tracking: bool,
               extra: dict[str, Any] | None = None) -> Tracker | None:
    """Mark `run` running again (its `resumed` list gains this resume, with `extra`) and
    reopen its MLflow run, backfilled with the epochs the checkpoint holds."""
    tracker = None
    mlflow_id = run.info.get("mlflow_run_id")
    if tracking and mlflow_id:
        from kiln.tracking import Tracker

        tracker = Tracker.reopen(mlflow_id)
        tracker.backfill(loop.history)
    resumed = [*run.info.get("resumed", []),
               {"at": now_iso(), "epoch": loop.epoch, **(extra or {})}]
    update_info(run, status="running", resumed=resumed, owner=process_owner())
    return tracker


def execute(run: Run, loop: Loop, tracker: Tracker | None) -> Run:
    """Run the loop with the run directory's checkpoints; mark the outcome either way."""
    loop.checkpoint_dir = run.dir / "checkpoints"
    loop.on_epoch = tracker.log_epoch if tracker is not None else None
    started = time.perf_counter()
    try:
        result = loop.run()
        finish(run, loop, result, tracker, started)
    except BaseException as exc:
        status = outcome(exc)
        update_info(run, status=status, error=f"{type(exc).__name__}: {exc}"[:500],
                    epochs_run=loop.epoch, ended=now_iso())
        if tracker is not None:
            with contextlib.suppress(Exception):  # the training error is the one to report
                tracker.end("FAILED" if status == "failed" else "KILLED")
        raise
    return run


def outcome(exc: BaseException) -> str:
    if type(exc).__name__ == "TrialPruned":
        return "pruned"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    return "failed"


def finish(run: Run, loop: Loop, result: FitResult, tracker: Tracker | None,
           started: float) -> None:
    """Best weights, final metrics, run.json and MLflow artifacts; status `finished`."""
    save_weights(loop.model, run.dir / "weights.safetensors")
    val = loop.validation_scores()
    test = loop.score(loop.data.test) if len(loop.data.test) else {}
    from kiln.files import write_json

    record: dict[str, Any] = {"val": val, "test": test, "history": result.history}
    spec = loop.bp.task.threshold
    if spec is not None:
        from kiln.train.threshold import fit_threshold

        record["threshold"] = fit_threshold(loop.model, loop.data, spec,
                                            val=loop.validation_outputs())
    if result.members:
        record["members"] = result.members
    write_json(run.dir / "metrics.json", record)
    update_info(run, status="finished", epochs_run=result.epochs_run,
                best_epoch=result.best_epoch, stopped_early=result.stopped_early,
                selected_by=result.selected_by,
                ended=now_iso(), train_seconds=round(time.perf_counter() - started, 3))
    if tracker is not None:
        final = {f"best_val.{k}": v for k, v in val.items()}
        final.update({f"test.{k}": v for k, v in test.items()})
        tracker.log_metrics({**final, "best_epoch": result.best_epoch})
        names = ("blueprint.yaml", "weights.safetensors", "preprocessing.json",
                 "signature.json", "metrics.json", "run.json")
        tracker.log_artifacts([run.dir / n for n in names])
        tracker.end("FINISHED")
