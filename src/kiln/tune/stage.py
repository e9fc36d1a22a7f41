"""`tune()`: a blueprint with a search space → an Optuna study, the best blueprint, a report.

Lifecycle: load and check the space → open (or resume) the study and its MLflow parent run
→ run trials here or in N worker processes → fail trials of dead workers → write
`$KILN_HOME/tune/<study>/best.yaml` and `report.html` and return a `TuneResult`.

`--trials N` is the size the study should reach: COMPLETE and PRUNED trials count, FAILED
ones do not, so re-running the same command after an interruption finishes the rest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiln.errors import KilnError
from kiln.tune.cores import plan_threads
from kiln.tune.settings import SearchBlueprint, SearchSettings, load_search, objective_names
from kiln.tune.study import (
    default_storage_url,
    fail_stale,
    make_pruner,
    make_sampler,
    open_storage,
    open_study,
    redact,
)
from kiln.tune.trial import Trainer, TrialSetup, run_trial

if TYPE_CHECKING:
    import optuna

    from kiln.tune.results import TuneResult


@dataclass
class TuneOptions:
    """Command-line overrides of the blueprint's `search` section, and where the study lives."""

    trials: int | None = None
    sampler: str | None = None
    pruner: str | None = None
    objectives: list[str] = field(default_factory=list)
    seed: int | None = None
    storage: str | None = None
    study: str | None = None
    cv: int | None = None
    workers: int = 1
    timeout: float | None = None
    tracking: bool = True
    quiet: bool = False


def tune(source: str | Path | dict[str, Any], options: TuneOptions | None = None, *,
         trainer: Trainer | None = None) -> TuneResult:
    """Run (or resume) the study of a blueprint with a search space; return its summary.

    `trainer` replaces `kiln.train.train` (tests, benchmarks); it is used only in this
    process, so it excludes `workers > 1`. Raises `BlueprintError` for a bad space or
    setting, and the training stage's errors.
    """
    from kiln.tune.report import write_report
    from kiln.tune.results import close_parent, study_dir, summarize

    options = replace(options or TuneOptions())
    search = load_search(source)
    settings = effective_settings(search.settings, options)
    options.storage = options.storage or default_storage_url()
    study, objectives = prepare_study(search, settings, options)
    parent = parent_run(study, search) if options.tracking else None
    remaining = max(0, settings.trials - finished_count(study))
    if options.workers > 1 and remaining:
        if trainer is not None:
            raise KilnError("tune: a custom trainer runs in this process only — use workers=1")
        seed = settings.seed if settings.seed is not None else search.base.seed
        spawn_workers(source, options, seed, remaining)
    elif remaining:
        setup = TrialSetup(search, objectives, trainer or default_trainer(options),
                           prune=pruning(settings, objectives, options), parent_run_id=parent)
        optimize(study, setup, settings.trials, remaining, options.timeout, options.quiet)
    fail_stale(study)
    if parent is not None:
        parent = settle_parent_run(study, parent)
    result = summarize(study, search, objectives, settings,
                       storage=redact(options.storage), parent_run_id=parent)
    result.report = write_report(study, result, study_dir(study.study_name) / "report.html")
    if parent is not None:
        close_parent(parent, result)
    return result


def work(source: str | Path, options: TuneOptions, n_trials: int) -> None:
    """A worker process (`kiln tune ... --worker`): run up to `n_trials` trials of the study,
    stopping early once the study holds `trials` finished ones."""
    search = load_search(source)
    settings = effective_settings(search.settings, options)
    study, objectives = prepare_study(search, settings, options)
    parent = study.user_attrs.get("mlflow_parent_run_id") if options.tracking else None
    setup = TrialSetup(search, objectives, default_trainer(options),
                       prune=pruning(settings, objectives, options), parent_run_id=parent)
    optimize(study, setup, settings.trials, n_trials, options.timeout, options.quiet)


def pruning(settings: SearchSettings, objectives: list[str], options: TuneOptions) -> bool:
    """Per-epoch pruning needs a pruner, one objective and one training per trial (no CV)."""
    return settings.pruner != "none" and len(objectives) == 1 and not options.cv


def effective_settings(settings: SearchSettings, options: TuneOptions) -> SearchSettings:
    updates: dict[str, Any] = {k: v for k, v in (
        ("trials", options.trials), ("sampler", options.sampler), ("pruner", options.pruner),
        ("seed", options.seed)) if v is not None}
    if options.objectives:
        updates["objectives"] = options.objectives
    from kiln.tune.settings import parse_settings

    return parse_settings({**settings.model_dump(), **updates})


def prepare_study(search: SearchBlueprint, settings: SearchSettings,
                  options: TuneOptions) -> tuple[optuna.Study, list[str]]:
    objectives = objective_names(settings.objectives, search.base)
    sampler_name = settings.sampler or ("nsga2" if len(objectives) > 1 else "tpe")
    seed = settings.seed if settings.seed is not None else search.base.seed
    sampler = make_sampler(sampler_name, seed=seed, settings=settings, space=search.space,
                           n_objectives=len(objectives))
    pruner = make_pruner(settings.pruner, settings=settings,
                         epochs=search.base.training.epochs, n_objectives=len(objectives))
    storage = open_storage(options.storage, settings)
    study = open_study(name=options.study or search.name, storage=storage,
                       objectives=objectives, sampler=sampler, pruner=pruner)
    fail_stale(study)
    return study, objectives


def finished_count(study: optuna.Study) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False,
                                states=(TrialState.COMPLETE, TrialState.PRUNED)))


def optimize(study: optuna.Study, setup: TrialSetup, total: int, n_trials: int,
             timeout: float | None, quiet: bool) -> None:
    """`study.optimize` until the study holds `total` finished trials, this worker finished
    `n_trials`, or — a systematic error — `n_trials` of its trials failed."""
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    from kiln.tune.results import trial_line

    ran = {"finished": 0, "failed": 0}

    def report(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if not quiet:
            print(trial_line(trial), file=sys.stderr, flush=True)
        ran["failed" if trial.state == TrialState.FAIL else "finished"] += 1
        if ran["finished"] >= n_trials or ran["failed"] >= n_trials:
            study.stop()

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.optimize(
            lambda trial: run_trial(trial, setup), n_trials=2 * n_trials, timeout=timeout,
            catch=(KilnError,), gc_after_trial=False,
            callbacks=[MaxTrialsCallback(total, states=(TrialState.COMPLETE,
                                                        TrialState.PRUNED)), report],
        )


def default_trainer(options: TuneOptions) -> Trainer:
    from kiln.tune.trainer import KilnTrainer

    return KilnTrainer(cv=options.cv, tracking=options.tracking)


def parent_run(study: optuna.Study, search: SearchBlueprint) -> str:
    """The study's MLflow parent run (created once, its id kept in the study)."""
    from kiln.tracking import client, experiment_id

    mlflow = client()
    run_id = study.user_attrs.get("mlflow_parent_run_id")
    if run_id:
        mlflow.update_run(str(run_id), status="RUNNING")
        return str(run_id)
    run = mlflow.create_run(experiment_id(mlflow, search.base.name),
                            run_name=f"tune-{study.study_name}",
                            tags={"kiln.kind": "study", "kiln.study": study.study_name})
    study.set_user_attr("mlflow_parent_run_id", run.info.run_id)
    return str(run.info.run_id)


def settle_parent_run(study: optuna.Study, mine: str) -> str:
    """The parent run stored in the study; a parent this process created but lost a race
    for (another machine stored its own meanwhile) is deleted when nothing nests under it."""
    stored = str(study.user_attrs.get("mlflow_parent_run_id") or mine)
    if stored != mine:
        from kiln.tracking import client

        mlflow = client()
        children = mlflow.search_runs(
            [mlflow.get_run(mine).info.experiment_id],
            filter_string=f"tags.mlflow.parentRunId = '{mine}'", max_results=1)
        if not children:
            mlflow.delete_run(mine)
    return stored


def spawn_workers(source: str | Path | dict[str, Any], options: TuneOptions, base_seed: int,
                  remaining: int) -> None:
    """Start `options.workers` processes of `kiln tune --worker` on the same study and wait.

    Each gets its share of the remaining trials and its own sampler seed (seed + i), so that
    two workers do not propose the same random start-up points.
    """
    if isinstance(source, dict):
        raise KilnError("tune: workers need a blueprint file, not a mapping")
    threads, warning = plan_threads(options.workers, load_search(source).base.training.threads)
    if warning:
        print(warning, file=sys.stderr)
    # PyTorch's default thread count is read from OMP_NUM_THREADS at start-up
    env = {**os.environ, "OMP_NUM_THREADS": str(threads), "MKL_NUM_THREADS": str(threads)}
    procs = []
    for i in range(options.workers):
        share = remaining // options.workers + (1 if i < remaining % options.workers else 0)
        if share == 0:
            continue
        procs.append(subprocess.Popen(worker_command(source, options, share, base_seed + i),
                                      env=env))
    codes = [p.wait() for p in procs]
    if any(codes):
        raise KilnError(f"tune: {sum(1 for c in codes if c)} of {len(codes)} workers failed "
                        f"(exit codes {codes}) — see their messages above; re-run to resume")


def worker_command(source: Path | str, options: TuneOptions, share: int, seed: int) -> list[str]:
    cmd = [sys.executable, "-c", "from kiln.cli import main; main()", "tune", str(source),
           "--worker", "--worker-trials", str(share), "--seed", str(seed),
           "--storage", options.storage or default_storage_url()]
    for flag, value in (("--trials", options.trials), ("--sampler", options.sampler),
                        ("--pruner", options.pruner), ("--study", options.study),
                        ("--cv", options.cv), ("--timeout", options.timeout)):
        if value is not None:
            cmd += [flag, str(value)]
    if options.objectives:
        cmd += ["--objectives", ",".join(options.objectives)]
    if not options.tracking:
        cmd.append("--no-tracking")
    if options.quiet:
        cmd.append("--quiet")
    return cmd
