"""One trial: sample a concrete blueprint, build and measure its model, reject it when it
breaks a budget (before any epoch is spent), train it with per-epoch pruning, score it.

Each trial records in its Optuna user attributes what a person needs to read the table:
the worker (`host:pid`), the model's costs, the reason a trial was rejected or the epoch at
which it was pruned, and the kiln run id (weights) of a trained trial.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from kiln.blueprint.schema import Blueprint
from kiln.errors import KilnError, RunError
from kiln.tune.settings import COST_OBJECTIVES, SearchBlueprint
from kiln.tune.space import suggest

if TYPE_CHECKING:
    import optuna

EpochCallback = Callable[[int, dict[str, float]], None]


@dataclass
class TrainOutcome:
    """What a trainer hands back: validation metrics (CV means with `--cv`) and the run."""

    metrics: dict[str, float]
    run_id: str | None = None


class Trainer(Protocol):
    def __call__(self, blueprint: Blueprint, *, epoch_callback: EpochCallback | None,
                 parent_run_id: str | None, run_name: str) -> TrainOutcome: ...


@dataclass
class TrialSetup:
    """Everything a worker needs to run trials of one study."""

    search: SearchBlueprint
    objectives: list[str]
    trainer: Trainer
    prune: bool = True
    parent_run_id: str | None = None


def run_trial(trial: optuna.Trial, setup: TrialSetup) -> float | list[float]:
    """The Optuna objective. Raises `optuna.TrialPruned` for a pruned or rejected trial;
    any other error fails the trial with the message in its `error` attribute."""
    import optuna

    try:
        return _run_trial(trial, setup)
    except optuna.TrialPruned:
        raise
    except Exception as exc:
        trial.set_user_attr("error", f"{type(exc).__name__}: {exc}"[:500])
        raise


def _run_trial(trial: optuna.Trial, setup: TrialSetup) -> float | list[float]:
    trial.set_user_attr("worker", f"{socket.gethostname()}:{os.getpid()}")
    try:
        _, blueprint = setup.search.concrete(lambda d: suggest(trial, d))
    except KilnError as exc:  # a combination the representative checks could not foresee
        reject(trial, f"invalid blueprint: {exc}")
    started = time.perf_counter()
    costs = measure_costs(trial, blueprint, setup.objectives)
    trial.set_user_attr("check_s", round(time.perf_counter() - started, 4))
    parent = setup.parent_run_id
    if parent:
        # Read per trial: when two machines open the study at the same moment, both create
        # a parent run and the last one stored wins; every trial then nests under that one.
        parent = str(trial.study.user_attrs.get("mlflow_parent_run_id") or parent)
    started = time.perf_counter()
    outcome = setup.trainer(
        blueprint,
        epoch_callback=epoch_pruner(trial, setup) if setup.prune else None,
        parent_run_id=parent,
        run_name=f"trial-{trial.number}",
    )
    trial.set_user_attr("train_s", round(time.perf_counter() - started, 4))
    if outcome.run_id:
        trial.set_user_attr("run_id", outcome.run_id)
    values = []
    for name in setup.objectives:
        value = costs[name] if name in COST_OBJECTIVES else outcome.metrics.get(name)
        if value is None:
            raise RunError(f"trial {trial.number}: training reported no {name!r} on the "
                           f"validation split — is the split empty?")
        values.append(float(value))
    return values[0] if len(values) == 1 else values


def reject(trial: optuna.Trial, reason: str) -> NoReturn:
    """End a trial before training: PRUNED, with the reason in its `rejected` attribute."""
    import optuna

    trial.set_user_attr("rejected", reason)
    raise optuna.TrialPruned(reason)


def epoch_pruner(trial: optuna.Trial, setup: TrialSetup) -> EpochCallback:
    """Report the validation objective after each epoch; stop the run when the pruner says."""
    import optuna

    name = setup.objectives[0]

    def callback(epoch: int, val_metrics: dict[str, float]) -> None:
        value = val_metrics.get(name, val_metrics.get("objective"))
        if value is None:
            return
        trial.report(float(value), epoch)
        if trial.should_prune():
            trial.set_user_attr("pruned_epoch", epoch)
            raise optuna.TrialPruned(f"pruned after epoch {epoch}")

    return callback


def measure_costs(trial: optuna.Trial, blueprint: Blueprint,
                  objectives: list[str]) -> dict[str, float]:
    """Build the model and measure what the budgets and cost objectives need; reject the
    trial (PRUNED, `rejected` attribute) when it breaks a budget or cannot be built."""
    from kiln.model.budgets import Costs, check_budgets, format_number
    from kiln.model.builder import build_model
    from kiln.model.measure import count_params, example_batch, flops_by_module, measure_latency
    from kiln.model.signature import declared_signature

    budgets = blueprint.budgets
    try:
        signature = declared_signature(blueprint)
        model = build_model(blueprint, signature)
    except KilnError as exc:  # ShapeError, BlueprintError, PluginError
        reject(trial, f"cannot build: {exc}")
    costs: dict[str, float] = {"params": float(count_params(model))}
    if budgets.max_flops is not None or "flops" in objectives:
        costs["flops"] = flops_by_module(model, example_batch(signature, 1))[-1]
    if budgets.max_latency_ms is not None or "latency" in objectives:
        batch = example_batch(signature, budgets.latency_batch_size)
        costs["latency"] = round(measure_latency(model, batch, budget_s=0.5), 4)
    if "onnx_size" in objectives:
        costs["onnx_size"] = onnx_size(model, signature)
    for key, cost in costs.items():
        trial.set_user_attr(f"cost.{key}", cost)
    checks = check_budgets(budgets, Costs(params=costs["params"], flops=costs.get("flops"),
                                          latency_ms=costs.get("latency")))
    for check in checks:
        if not check.ok:
            what = check.name.removeprefix("max_").split("@")[0]
            reject(trial, f"over budget: {what} {format_number(check.value)} > "
                          f"{check.name} {format_number(check.limit)}")
    return costs


def onnx_size(model: Any, signature: Any) -> float:
    """Bytes of the model exported to ONNX, as compression and export would write it."""
    import tempfile
    from pathlib import Path

    from kiln.model.onnx_export import export_onnx

    with tempfile.TemporaryDirectory() as tmp:
        return float(export_onnx(model, signature, Path(tmp) / "model.onnx").stat().st_size)
