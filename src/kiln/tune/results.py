"""What a study produced: the trials table, the chosen trial, the best blueprint as concrete
YAML, and the `--json` object. Files go to `$KILN_HOME/tune/<study>/`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kiln.blueprint.load import dump_blueprint
from kiln.tune.settings import COST_OBJECTIVES, SearchBlueprint, SearchSettings, direction

if TYPE_CHECKING:
    import optuna
    from optuna.trial import FrozenTrial


@dataclass
class TrialRow:
    number: int
    state: str  # COMPLETE, PRUNED, REJECTED, FAIL, RUNNING, WAITING
    values: list[float] | None
    params: dict[str, Any]
    seconds: float | None
    note: str = ""


@dataclass
class TuneResult:
    """The summary of a study; `to_dict()` is the `--json` object."""

    study: str
    storage: str
    objectives: list[str]
    directions: list[str]
    rows: list[TrialRow]
    best_number: int | None = None
    best_values: list[float] | None = None
    best_params: dict[str, Any] = field(default_factory=dict)
    best_run_id: str | None = None
    pareto: list[int] = field(default_factory=list)
    best_blueprint: Path | None = None
    report: Path | None = None
    parent_run_id: str | None = None

    @property
    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.rows:
            out[row.state.lower()] = out.get(row.state.lower(), 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        best = (dict(zip(self.objectives, self.best_values, strict=True))
                if self.best_values else None)
        return {
            "study": self.study, "storage": self.storage, "objectives": self.objectives,
            "directions": self.directions, "best_trial": self.best_number,
            "best_value": self.best_values[0] if self.best_values else None,
            "best_values": best, "best_params": self.best_params,
            "best_run_id": self.best_run_id,
            "best_blueprint": str(self.best_blueprint) if self.best_blueprint else None,
            "report": str(self.report) if self.report else None,
            "pareto_trials": self.pareto, "trials": len(self.rows), "states": self.counts,
            "mlflow_parent_run_id": self.parent_run_id,
        }


def summarize(study: optuna.Study, search: SearchBlueprint, objectives: list[str],
              settings: SearchSettings, *, storage: str,
              parent_run_id: str | None) -> TuneResult:
    """Build the result and write best.yaml (the stage adds report.html and closes the
    MLflow parent run)."""
    trials = study.get_trials(deepcopy=False)
    result = TuneResult(study.study_name, storage, objectives,
                        [direction(o) for o in objectives], [row_of(t) for t in trials],
                        parent_run_id=parent_run_id)
    chosen = choose(study, objectives, settings.pareto_tolerance)
    out_dir = study_dir(study.study_name)
    if chosen is not None:
        result.best_number, result.best_values = chosen.number, list(chosen.values)
        result.best_params = dict(chosen.params)
        result.best_run_id = chosen.user_attrs.get("run_id")
        result.best_blueprint = write_best(search, chosen, out_dir / "best.yaml",
                                            study.study_name)
    if len(objectives) > 1:
        result.pareto = [t.number for t in study.best_trials]
    return result


def study_dir(name: str) -> Path:
    from kiln.runs import kiln_home

    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._") or "study"
    path = kiln_home() / "tune" / safe
    path.mkdir(parents=True, exist_ok=True)
    return path


def choose(study: optuna.Study, objectives: list[str], tolerance: float) -> FrozenTrial | None:
    """The best trial; with several objectives, the cheapest Pareto trial whose task metric
    is within `tolerance` of the best task metric on the front."""
    from optuna.trial import TrialState

    if not study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        return None
    if len(objectives) == 1:
        return study.best_trial
    front = study.best_trials
    task = next(i for i, o in enumerate(objectives) if o not in COST_OBJECTIVES)
    sign = 1.0 if direction(objectives[task]) == "maximize" else -1.0
    top = max(sign * t.values[task] for t in front)
    near = [t for t in front if sign * t.values[task] >= top - tolerance]
    costs = [i for i, o in enumerate(objectives) if o in COST_OBJECTIVES] or [task]
    return min(near, key=lambda t: tuple(t.values[i] for i in costs))


def write_best(search: SearchBlueprint, trial: FrozenTrial, path: Path,
               study_name: str = "") -> Path:
    """The chosen trial's blueprint as concrete YAML, ready for `kiln train`: no
    distributions, no search section, data and plugin paths made absolute."""
    raw, blueprint = search.concrete(lambda d: trial.params[d.name])
    raw = {k: v for k, v in raw.items() if k != "search"}
    blueprint = search.validated(raw)
    source = blueprint.data.source
    if ":" not in source.split("/")[0] and not Path(source).is_absolute():
        blueprint.data.source = str(blueprint.resolve(source))
    blueprint.plugins = [str(blueprint.resolve(p)) for p in blueprint.plugins]
    header = (f"# Best trial {trial.number} of study {study_name}"
              f" written by `kiln tune`; values: {list(trial.values)}\n")
    path.write_text(header + dump_blueprint(blueprint), encoding="utf-8")
    return path


def state_of(trial: FrozenTrial) -> str:
    if "rejected" in trial.user_attrs:
        return "REJECTED"
    return str(trial.state.name)


def row_of(trial: FrozenTrial) -> TrialRow:
    attrs = trial.user_attrs
    note = str(attrs.get("rejected", ""))
    if not note and "pruned_epoch" in attrs:
        note = f"pruned after epoch {attrs['pruned_epoch']}"
    if not note and trial.state.name == "FAIL":
        # `run_trial` records the error of a trial that raised; a dead worker leaves none.
        reason = attrs.get("error")
        note = (str(reason).splitlines()[0][:160] if reason
                else "worker stopped (no heartbeat) — redone on resume")
    seconds = trial.duration.total_seconds() if trial.duration else None
    return TrialRow(trial.number, state_of(trial),
                    list(trial.values) if trial.values else None, dict(trial.params),
                    seconds, note)


def trial_line(trial: FrozenTrial) -> str:
    """One progress line per finished trial, printed by the worker that ran it."""
    row = row_of(trial)
    values = ", ".join(f"{v:.4g}" for v in row.values) if row.values else "—"
    took = f"{row.seconds:.1f}s" if row.seconds is not None else ""
    note = f" · {row.note}" if row.note else ""
    return f"trial {row.number:>3} {row.state.lower():<9} {values:<18} {took}{note}"


def close_parent(run_id: str, result: TuneResult) -> None:
    """Log the study's outcome on its MLflow parent run and mark the best trial's run."""
    from kiln.tracking import Tracker, client

    tracker = Tracker(client(), run_id)
    tags: dict[str, Any] = {"kiln.best_trial": result.best_number,
                            "kiln.best_run_id": result.best_run_id,
                            **{f"kiln.trials.{k}": v for k, v in result.counts.items()}}
    tracker.set_tags({k: v for k, v in tags.items() if v is not None})
    if result.best_values:
        tracker.log_metrics({f"best.{o}": v for o, v in
                             zip(result.objectives, result.best_values, strict=True)})
    tracker.log_artifacts([p for p in (result.best_blueprint, result.report) if p])
    tracker.end("FINISHED")
    if result.best_run_id:
        from kiln.runs import load_run

        best_mlflow = load_run(result.best_run_id).info.get("mlflow_run_id")
        if best_mlflow:
            Tracker(tracker.client, str(best_mlflow)).set_tags({"kiln.best_trial": "true"})


def params_yaml(params: dict[str, Any]) -> str:
    return yaml.safe_dump(params, sort_keys=False).strip()
