"""Optuna plumbing: the storage (SQLite by default, any RDB URL), samplers, pruners, the study.

Workers that share a study only share its storage. The storage runs a heartbeat: a worker
that dies mid-trial (SIGKILL, a lost machine) stops beating, and the next worker that starts
a trial — or the next `kiln tune` on the study — marks that trial FAIL instead of leaving it
RUNNING forever.
"""

from __future__ import annotations

import time
import warnings
from typing import TYPE_CHECKING, Any

from kiln.errors import BlueprintError
from kiln.runs import kiln_home
from kiln.tune.settings import SearchSettings, direction
from kiln.tune.space import SearchSpace

if TYPE_CHECKING:
    import optuna


def default_storage_url() -> str:
    home = kiln_home()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home.resolve() / 'optuna.db'}"


def open_storage(url: str | None, settings: SearchSettings) -> optuna.storages.RDBStorage:
    """An RDB storage with a heartbeat, so that a dead worker's trial ends FAIL.

    SQLite waits for a lock instead of failing at once (several local workers write to one
    file); a server database gets a small connection pool with liveness checks.
    """
    import optuna
    from optuna.exceptions import ExperimentalWarning

    url = url or default_storage_url()
    if url.startswith("sqlite"):
        engine: dict[str, Any] = {"connect_args": {"timeout": 60}}
    else:
        engine = {"pool_size": 2, "max_overflow": 2, "pool_pre_ping": True}
    error: Exception | None = None
    for attempt in range(4):
        # Workers started together on a fresh database race to create Optuna's tables; the
        # loser's CREATE fails, and its next attempt finds the tables there.
        time.sleep(attempt * 0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            try:
                return optuna.storages.RDBStorage(
                    url, engine_kwargs=engine,
                    heartbeat_interval=settings.heartbeat_s,
                    grace_period=settings.grace_s or 3 * settings.heartbeat_s,
                )
            except ImportError as exc:  # no driver for this URL: retrying will not help
                error = exc
                break
            except Exception as exc:  # sqlalchemy's errors differ per driver
                error = exc
    first = str(error).splitlines()[0] if str(error) else type(error).__name__
    raise BlueprintError(
        f"--storage {redact(url)}: cannot open the study storage ({first}) — check the "
        f"URL, that the database server is up and that its driver is installed"
    ) from None


def redact(url: str) -> str:
    """The URL without its password, for messages and JSON output."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


def make_sampler(name: str, *, seed: int, settings: SearchSettings, space: SearchSpace,
                 n_objectives: int) -> optuna.samplers.BaseSampler:
    """tpe (default), random, grid, cmaes (one objective), nsga2 (several objectives)."""
    import optuna

    if name == "cmaes" and n_objectives > 1:
        raise BlueprintError("search.sampler: cmaes optimises one objective — use nsga2 or "
                             "tpe for several")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if name == "tpe":
            return optuna.samplers.TPESampler(seed=seed, n_startup_trials=settings.startup_trials,
                                              multivariate=True, group=True,
                                              constant_liar=True)
        if name == "random":
            return optuna.samplers.RandomSampler(seed=seed)
        if name == "grid":
            return optuna.samplers.GridSampler(space.grid(), seed=seed)
        if name == "cmaes":
            # CMA-ES models numbers only; choices are sampled at random beside it.
            return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False,
                                                n_startup_trials=settings.startup_trials)
        if name == "nsga2":
            return optuna.samplers.NSGAIISampler(seed=seed, population_size=max(
                4, min(50, settings.trials // 4)))
    raise BlueprintError(f"search.sampler: {name!r} is not a sampler "
                         f"(accepted: tpe, random, grid, cmaes, nsga2)")


def make_pruner(name: str, *, settings: SearchSettings, epochs: int,
                n_objectives: int) -> optuna.pruners.BasePruner:
    """median or hyperband on the per-epoch validation objective; none for several
    objectives (Optuna cannot prune multi-objective trials)."""
    import optuna

    if n_objectives > 1 or name == "none":
        return optuna.pruners.NopPruner()
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=settings.startup_trials,
                                           n_warmup_steps=settings.warmup_epochs)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=max(1, settings.warmup_epochs),
                                              max_resource=epochs, reduction_factor=3)
    raise BlueprintError(f"search.pruner: {name!r} is not a pruner "
                         f"(accepted: median, hyperband, none)")


def open_study(*, name: str, storage: optuna.storages.RDBStorage, objectives: list[str],
               sampler: optuna.samplers.BaseSampler,
               pruner: optuna.pruners.BasePruner) -> optuna.Study:
    """Create the study, or load it when it exists (re-running resumes).

    An existing study must optimise the same objectives in the same directions.
    """
    import optuna

    directions = [direction(o) for o in objectives]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=storage, study_name=name, sampler=sampler,
                                pruner=pruner, directions=directions, load_if_exists=True)
    stored = study.user_attrs.get("objectives")
    if stored is None:
        study.set_user_attr("objectives", objectives)
    elif list(stored) != objectives:
        raise BlueprintError(
            f"--study {name}: this study optimises {', '.join(stored)}, not "
            f"{', '.join(objectives)} — pass --objectives {','.join(stored)}, or a new --study"
        )
    return study


def fail_stale(study: optuna.Study) -> None:
    """Mark trials of dead workers (no heartbeat within the grace period) FAIL."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
