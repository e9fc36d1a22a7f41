"""`kiln retrain`: the closed loop — trigger → data → challenger → gate → promote or not.

    result = retrain(bp, new_data="fresh.csv")          # or log="predictions.db"
    result.decision, result.reason, result.record_path  # promoted | refused | ...

The steps, each leaving the record (`kiln.retrain.record`) one step further:

1. the policy's triggers (`triggers.detect`) — or the `new_data` file — say whether to
   retrain; the trigger id names the record;
2. the recipe (`recipe.build`) writes the challenger's table: original training rows plus
   the new labelled rows, with a fresh holdout that neither model trains on;
3. the challenger is shipped with the same blueprint (`kiln.pipeline.ship`: train,
   evaluate, compress, export, register) under the alias `challenger`;
4. champion (its registered bundle) and challenger answer the same fresh holdout
   (`judge`), and the gate (`gate.decide`) passes or refuses it, saying why;
5. a passing challenger is promoted to `champion`; a refused one stays `challenger`.

A run killed midway leaves an undecided record; the next `retrain` of the model finishes
that one first (skipping the steps already done) instead of starting another, and a
challenger is never promoted twice: the same trigger id → the same record → no second
promotion.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiln.blueprint.retrain_spec import RetrainSpec
from kiln.errors import DataError, KilnError, MissingExtraError, RegistryError
from kiln.retrain import record as records
from kiln.retrain.policy import load_policy
from kiln.retrain.triggers import Trigger, detect, file_trigger

if TYPE_CHECKING:
    from kiln.blueprint.schema import Blueprint

StepCallback = Callable[[str, Any], None]


@dataclass
class RetrainResult:
    """What one `retrain` call did. decision: promoted | refused (a decided record),
    no_trigger (nothing fired) or waiting (a trigger fired, but too few labelled rows)."""

    decision: str
    reason: str
    trigger: Trigger | None = None
    record: dict[str, Any] | None = None
    record_path: Path | None = None
    resumed: bool = False  # finished a retrain that a crash had left undecided
    repeated: bool = False  # this trigger was decided before: nothing was done again

    def to_dict(self) -> dict[str, Any]:
        return {"decision": self.decision, "reason": self.reason,
                "trigger": self.trigger.to_dict() if self.trigger else None,
                "record": self.record,
                "record_path": str(self.record_path) if self.record_path else None,
                "resumed": self.resumed, "repeated": self.repeated}


def retrain(blueprint: Blueprint, *, new_data: str | Path | None = None,
            log: str | Path | None = None, policy: RetrainSpec | str | Path | None = None,
            name: str | None = None, report: bool = True, now: float | None = None,
            on_step: StepCallback | None = None) -> RetrainResult:
    """Run the loop once for the model `name` (default: the blueprint's name).

    new_data: a file of new labelled rows (CSV, Parquet, .npz), which is itself the
    trigger; log: the prediction log (`kiln serve --log`), for the triggers and its
    labelled rows; policy: a `RetrainSpec` or a policy file (default: the blueprint's
    `retrain:` section). Raises `RegistryError` when the model has no champion,
    `DataError` for unusable new data, and what the stages raise."""
    spec = policy if isinstance(policy, RetrainSpec) else load_policy(policy, blueprint=blueprint)
    name = name or blueprint.name
    step = on_step or (lambda _name, _value: None)
    pending = records.pending_record(name)
    if pending is not None:
        step("resume", pending["id"])
        return _finish(blueprint, pending, spec, report=report, step=step, resumed=True)
    trigger = _trigger(blueprint, spec, name, new_data, log, now)
    if trigger is None:
        return RetrainResult("no_trigger", "no trigger of the policy fired")
    step("trigger", trigger)
    done = records.load_record(trigger.id)
    if done is not None and done.get("status") == "decided":
        return RetrainResult(done["decision"], done["reason"], trigger, done,
                             records.record_path(trigger.id), repeated=True)
    try:
        started = _start(blueprint, spec, name, trigger, new_data, log, now)
    except DataError as exc:
        if trigger.kind == "new_data":
            raise
        return RetrainResult("waiting", f"{trigger.reason}, but {exc}", trigger)
    step("data", started["data"])
    return _finish(blueprint, started, spec, report=report, step=step, resumed=False)


def _trigger(blueprint: Blueprint, spec: RetrainSpec, name: str, new_data: str | Path | None,
             log: str | Path | None, now: float | None) -> Trigger | None:
    if new_data is not None:
        path = Path(new_data)
        if not path.is_file():
            raise DataError(f"{path}: no such file — pass a CSV, Parquet or .npz file of new "
                            f"labelled rows", where=str(path))
        return file_trigger(name, path)
    log_path = Path(log) if log is not None else None
    return detect(spec, name=name, log=log_path, last=records.last_decided(name), now=now,
                  drift_check=_drift_check(blueprint, name, log_path))


def _drift_check(blueprint: Blueprint, name: str,
                 log: Path | None) -> Callable[[float | None], bool] | None:
    """The drift trigger: `kiln.monitor.check` on the champion's bundle and the log."""
    if log is None:
        return None

    def check(since: float | None) -> bool:
        try:
            from kiln.monitor import check as monitor_check
        except ImportError:
            raise MissingExtraError("the drift trigger needs kiln's monitor (kiln.monitor), "
                                    "which this installation lacks — drop triggers.drift or "
                                    "install a kiln with `kiln monitor`") from None
        from kiln.bundle import load
        from kiln.registry import bundle_path

        found = monitor_check(load(bundle_path(name, "champion")), log, since=since,
                              until=None, spec=blueprint.monitor)
        return bool(found.drift_detected)

    return check


def _start(blueprint: Blueprint, spec: RetrainSpec, name: str, trigger: Trigger,
           new_data: str | Path | None, log: str | Path | None,
           now: float | None) -> dict[str, Any]:
    """Build the recipe and write the first record (`started`)."""
    from kiln.blueprint import dump_blueprint
    from kiln.files import atomic_write_text
    from kiln.retrain import new_rows
    from kiln.retrain.recipe import build

    champion = champion_version(name)
    if new_data is not None:
        rows, sources = new_rows.from_file(new_data, blueprint), [str(new_data)]
    elif log is not None:
        rows = new_rows.from_log(log, blueprint, name=name, since=trigger.since,
                                 until=trigger.until)
        sources = [f"{log} (labelled rows)"]
    else:
        raise DataError("no new labelled rows: pass --log or --new-data", where="new rows")
    folder = records.records_dir() / trigger.id
    base = champion_data(name, champion)
    original = (base or blueprint).data.source
    recipe = build(blueprint, rows, spec.data, folder=folder, base=base,
                   sources=[f"original: {original}", *sources])
    challenger = recipe.blueprint
    if spec.retune.search is not None:
        from kiln.retrain.retune import retune

        challenger = retune(blueprint.resolve(spec.retune.search), challenger,
                            trials=spec.retune.trials, study=f"retrain-{trigger.id}")
    atomic_write_text(folder / "blueprint.yaml", dump_blueprint(challenger))
    record = {"id": trigger.id, "model": name, "status": "started",
              "started_at": time.time() if now is None else now, "decided_at": None,
              "trigger": trigger.to_dict(), "data": recipe.to_dict(),
              "policy": spec.model_dump(mode="json"),
              "champion": {"version": champion}, "challenger": {}}
    records.save_record(record)
    return record


def champion_version(name: str) -> int:
    """The version of `name` that holds the champion alias. Raises `RegistryError`."""
    from kiln.registry import list_versions

    for version in list_versions(name):
        if "champion" in version.aliases:
            return version.version
    raise RegistryError(f"{name}: no version is champion, so there is nothing to challenge — "
                        f"ship one first (`kiln registry promote {name} VERSION`)",
                        where=name)


def champion_data(name: str, version: int) -> Blueprint | None:
    """The blueprint of the champion's training run when that run was itself a retrain's
    challenger (its data is then the last recipe's table), else None: the blueprint's own
    data is the original. A run that is not on this machine also gives None."""
    from kiln.errors import RunError
    from kiln.registry import list_versions
    from kiln.retrain.recipe import SPLIT_COLUMN
    from kiln.runs import load_run

    info = next((v for v in list_versions(name) if v.version == version), None)
    if info is None or not info.source_run:
        return None
    try:
        run_blueprint = load_run(info.source_run).blueprint
    except RunError:
        return None
    return run_blueprint if run_blueprint.data.split.column == SPLIT_COLUMN else None


def _finish(blueprint: Blueprint, record: dict[str, Any], spec: RetrainSpec, *,
            report: bool, step: StepCallback, resumed: bool) -> RetrainResult:
    """Ship the challenger (unless a killed run did), judge it, promote or not, record.

    A `KilnError` on the way (bad rows in the table, a training or parity failure) marks
    the record `failed` with the message, so the next retrain does not resume it but
    starts again; a kill leaves it undecided, to be resumed."""
    try:
        return _carry_on(blueprint, record, spec, report=report, step=step, resumed=resumed)
    except KilnError as exc:
        record.update(status="failed", error=str(exc))
        records.save_record(record)
        raise


def _carry_on(blueprint: Blueprint, record: dict[str, Any], spec: RetrainSpec, *,
              report: bool, step: StepCallback, resumed: bool) -> RetrainResult:
    from kiln.retrain.decision import conclude

    folder = records.records_dir() / record["id"]
    challenger_bp = _challenger_blueprint(folder, blueprint)
    if not record["challenger"].get("version"):
        record["challenger"] = _ship(challenger_bp, record["model"], report=report, step=step)
        record["status"] = "challenger"
        records.save_record(record)
    record = conclude(record, challenger_bp, spec, folder=folder, step=step)
    trigger = Trigger(**record["trigger"])
    return RetrainResult(record["decision"], record["reason"], trigger, record,
                         records.record_path(record["id"]), resumed=resumed)


def _challenger_blueprint(folder: Path, original: Blueprint) -> Blueprint:
    from kiln.blueprint import load_blueprint

    challenger = load_blueprint(folder / "blueprint.yaml")
    challenger.set_source(original.path)  # plugins and paths resolve as the original's
    return challenger


def _ship(challenger_bp: Blueprint, name: str, *, report: bool,
          step: StepCallback) -> dict[str, Any]:
    from kiln.pipeline import ship

    shipped = ship(challenger_bp, name=name, alias="challenger", report=report,
                   on_step=step, enforce_budgets=False, run_name=f"challenger {name}")
    assert shipped.version is not None  # register=True
    variant = shipped.compression.variant(shipped.variant)
    return {"version": shipped.version.version, "run_id": shipped.run.id,
            "bundle": str(shipped.bundle), "variant": shipped.variant,
            "report": str(shipped.report) if shipped.report else None,
            "budget_error": shipped.budget_error, "latency_ms": variant.latency_ms,
            "size_bytes": variant.size_bytes}
