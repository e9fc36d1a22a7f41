"""Triggers: has the world moved enough to train a challenger?

`detect(...)` checks the policy's triggers in a fixed order and returns the first that
fires, as a `Trigger` whose id is derived from what it saw (the model, the kind, and the
log window or the new-data file's hash) — so re-running after a crash finds the same id
and the same record. Log triggers look only at rows newer than the last decided retrain
of the model (its `data.until`), within the recipe's `window`.

    new_data                 an explicit `--new-data` file (always fires)
    accuracy_below           realised accuracy of labelled log rows under the floor
    mae_above                realised MAE (regression) over the ceiling
    estimated_accuracy_below mean top-class confidence under the floor (before labels)
    new_labelled_rows        this many labelled rows since the last retrain
    drift                    `kiln.monitor.check` reports drift on the window
    every                    the last retrain is older than the schedule's period
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kiln.blueprint.retrain_spec import RetrainSpec, duration_seconds
from kiln.errors import MissingExtraError


@dataclass(frozen=True)
class Trigger:
    """A trigger that fired. `since`/`until`: the log window whose rows it saw (None for a
    new-data file)."""

    kind: str
    id: str
    reason: str
    details: dict[str, Any] = field(default_factory=dict)
    since: float | None = None
    until: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class LogWindow:
    """The figures of the log rows a trigger judges."""

    since: float | None
    until: float | None
    rows: int
    labelled: int
    accuracy: float | None
    mae: float | None
    estimated_accuracy: float | None


def trigger_id(*parts: Any) -> str:
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()
    return f"{parts[1]}-{digest[:16]}"


def file_trigger(name: str, path: Path) -> Trigger:
    from kiln.files import sha256_file

    digest = sha256_file(path)
    return Trigger("new_data", trigger_id(name, "new_data", digest),
                   f"new labelled data in {path}", {"file": str(path), "sha256": digest})


def read_window(log: Path, name: str, *, since: float | None) -> LogWindow:
    """Realised and estimated figures of the primary model's rows after `since`."""
    from kiln import prediction_log

    conn = prediction_log.connect(log, create=False)
    try:
        model = name if prediction_log.count(conn, model=name) else None
        rows = [r for r in prediction_log.read(conn, since=since, model=model)
                if since is None or r.ts > since]
    finally:
        conn.close()
    labelled = [r for r in rows if r.label is not None]
    confident = [r.confidence for r in rows if r.confidence is not None]
    return LogWindow(
        since=since, until=max((r.ts for r in rows), default=None), rows=len(rows),
        labelled=len(labelled),
        accuracy=(sum(r.prediction == r.label for r in labelled) / len(labelled)
                  if labelled else None),
        mae=_mae(labelled),
        estimated_accuracy=sum(confident) / len(confident) if confident else None)


def detect(policy: RetrainSpec, *, name: str, log: Path | None, last: dict[str, Any] | None,
           now: float | None = None, drift_check: Any = None) -> Trigger | None:
    """The first trigger of `policy` that fires on `log`, or None.

    `last`: the model's last decided retrain record (its `data.until` bounds the window,
    its `decided_at` the schedule). `drift_check()` → bool runs the drift trigger."""
    now = time.time() if now is None else now
    spec = policy.triggers
    since = _since(policy, last, now)
    window = read_window(log, name, since=since) if log is not None else None
    fired = _threshold_trigger(spec, window) if window is not None else None
    if fired is None and spec.drift:
        if drift_check is None:
            raise MissingExtraError("the drift trigger needs --log and kiln's monitor")
        if drift_check(since):
            fired = ("drift", "kiln monitor reports drift on the window since the last retrain")
    if fired is None and spec.every is not None:
        last_at = float(last["decided_at"]) if last else None
        if last_at is None or now - last_at >= duration_seconds(spec.every):
            fired = ("every", f"schedule: no retrain in the last {spec.every}")
    if fired is None:
        return None
    kind, reason = fired
    until = window.until if window is not None else None
    details = asdict(window) if window is not None else {}
    return Trigger(kind, trigger_id(name, kind, since, until), reason, details, since, until)


def _threshold_trigger(spec: Any, w: LogWindow) -> tuple[str, str] | None:
    enough = w.labelled >= spec.min_rows
    if spec.accuracy_below is not None and enough and w.accuracy is not None \
            and w.accuracy < spec.accuracy_below:
        return ("accuracy_below", f"realised accuracy {w.accuracy:.4f} on {w.labelled} "
                                  f"labelled rows is under the floor {spec.accuracy_below}")
    if spec.mae_above is not None and enough and w.mae is not None and w.mae > spec.mae_above:
        return ("mae_above", f"realised MAE {w.mae:.4g} on {w.labelled} labelled rows is over "
                             f"the ceiling {spec.mae_above}")
    if spec.estimated_accuracy_below is not None and w.rows >= spec.min_rows \
            and w.estimated_accuracy is not None \
            and w.estimated_accuracy < spec.estimated_accuracy_below:
        return ("estimated_accuracy_below",
                f"estimated accuracy {w.estimated_accuracy:.4f} (mean confidence of {w.rows} "
                f"predictions) is under the floor {spec.estimated_accuracy_below}")
    if spec.new_labelled_rows is not None and w.labelled >= spec.new_labelled_rows:
        return ("new_labelled_rows", f"{w.labelled} labelled rows since the last retrain "
                                     f"(policy: {spec.new_labelled_rows})")
    return None


def _since(policy: RetrainSpec, last: dict[str, Any] | None, now: float) -> float | None:
    bounds = []
    if last is not None and last.get("trigger", {}).get("until") is not None:
        bounds.append(float(last["trigger"]["until"]))
    if policy.data.window is not None:
        bounds.append(now - duration_seconds(policy.data.window))
    return max(bounds) if bounds else None


def _mae(rows: list[Any]) -> float | None:
    errors = []
    for r in rows:
        try:
            errors.append(abs(float(r.prediction) - float(r.label)))
        except (TypeError, ValueError):
            return None  # labels that are not numbers: a classification log
    return sum(errors) / len(errors) if errors else None
