"""The retrain record: what one retrain saw, did and decided, kept as evidence.

One JSON file per trigger, `$KILN_HOME/retrain/<trigger id>.json`, rewritten atomically at
each step (`started` → `challenger` → `decided`, or `failed` with the error of a stage), so
a retrain killed midway leaves a record that says how far it got and `kiln retrain`
resumes it instead of starting another; a `failed` one is started again.
A decided record is also logged to MLflow (experiment `kiln-retrain`: the figures as
metrics, the record as an artifact). Keys:

    id, model, status, started_at, decided_at
    trigger     {kind, id, reason, details, since, until}
    data        {fingerprint, table, counts, sources}
    champion    {version, metrics: {name: {value, ci95}}}
    challenger  {version, run_id, bundle, variant, metrics, latency_ms, size_bytes}
    test        {name, improvement, p_value, n, details}
    decision    promoted | refused;  reason: why, with the figures
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from kiln.files import write_json

EXPERIMENT = "kiln-retrain"
FORMAT = 1


def records_dir() -> Path:
    from kiln.runs import kiln_home

    return kiln_home() / "retrain"


def record_path(trigger_id: str) -> Path:
    return records_dir() / f"{trigger_id}.json"


def load_record(trigger_id: str) -> dict[str, Any] | None:
    path = record_path(trigger_id)
    if not path.is_file():
        return None
    return _read(path)


def save_record(record: dict[str, Any]) -> Path:
    """Write (or rewrite) the record atomically; returns its path."""
    path = record_path(record["id"])
    write_json(path, {"format": FORMAT, **record})
    return path


def model_records(name: str) -> list[dict[str, Any]]:
    """Every record of model `name`, oldest first."""
    folder = records_dir()
    if not folder.is_dir():
        return []
    found = [r for r in (_read(p) for p in folder.glob("*.json")) if r and r.get("model") == name]
    return sorted(found, key=lambda r: (r.get("started_at", 0), r["id"]))


def pending_record(name: str) -> dict[str, Any] | None:
    """The newest record of `name` that a crash left undecided, if any (a `failed` one,
    closed by an error, is not resumed)."""
    pending = [r for r in model_records(name) if r.get("status") not in ("decided", "failed")]
    return pending[-1] if pending else None


def last_decided(name: str) -> dict[str, Any] | None:
    """What the triggers need of the model's decided retrains, or None before the first:
    `{"trigger": {"until": newest log row any of them used}, "decided_at": newest}`.
    (The newest record alone is not enough: a `--new-data` retrain reads no log.)"""
    done = [r for r in model_records(name) if r.get("status") == "decided"]
    if not done:
        return None
    untils = [float(r["trigger"]["until"]) for r in done
              if r.get("trigger", {}).get("until") is not None]
    return {"trigger": {"until": max(untils) if untils else None},
            "decided_at": max(float(r["decided_at"]) for r in done)}


def log_to_mlflow(record: dict[str, Any]) -> str:
    """Log a decided record to MLflow: tags, the figures as metrics, the JSON as an
    artifact. Returns the MLflow run id."""
    from mlflow.entities import Metric, Param

    from kiln.tracking import client, experiment_id

    mlflow = client()
    run = mlflow.create_run(experiment_id(mlflow, EXPERIMENT),
                            run_name=f"retrain {record['model']} {record['id']}",
                            tags={"kiln.model": record["model"], "kiln.trigger": record["id"],
                                  "kiln.decision": record.get("decision", ""),
                                  "kiln.reason": record.get("reason", "")[:5000]})
    now = int(time.time() * 1000)
    metrics = [Metric(f"{side}_{name}", float(m["value"]), now, 0)
               for side in ("champion", "challenger")
               for name, m in record.get(side, {}).get("metrics", {}).items()
               if m.get("value") is not None]
    test = record.get("test") or {}
    if test:
        metrics += [Metric("p_value", float(test["p_value"]), now, 0),
                    Metric("improvement", float(test["improvement"]), now, 0)]
    params = [Param("trigger_kind", str(record["trigger"]["kind"])),
              Param("champion_version", str(record["champion"].get("version"))),
              Param("challenger_version", str(record["challenger"].get("version"))),
              Param("data_fingerprint", str(record["data"].get("fingerprint")))]
    mlflow.log_batch(run.info.run_id, metrics=metrics, params=params)
    mlflow.log_dict(run.info.run_id, record, "retrain_record.json")
    mlflow.set_terminated(run.info.run_id)
    return str(run.info.run_id)


def _read(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None  # not a record (a stray file): ignored, never half-read
    return value if isinstance(value, dict) and "id" in value else None
