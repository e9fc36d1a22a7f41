"""Tracking: every run is an MLflow run (params, per-epoch metrics, tags, artifacts).

The store is `$KILN_TRACKING_URI` (a team's MLflow server) or the embedded SQLite file
`$KILN_HOME/mlflow.db`, whose artifacts go under `$KILN_HOME/mlartifacts`. MLflow is
imported only when a run starts, and its INFO logs and warnings are silenced.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiln.runs import Run, kiln_home, load_run

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

    from kiln.blueprint.schema import Blueprint

# MLflow rejects longer parameter values (6000 chars in MLflow ≥ 2); keys are capped at 250.
MAX_PARAM_VALUE = 6000
MAX_PARAM_KEY = 250
BATCH = 100  # params per log_batch call (MLflow's own limit)


def tracking_uri() -> str:
    """`$KILN_TRACKING_URI`, else `sqlite:///$KILN_HOME/mlflow.db`."""
    uri = os.environ.get("KILN_TRACKING_URI")
    if uri:
        return uri
    home = kiln_home().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / 'mlflow.db'}"


def artifact_root() -> Path:
    return kiln_home().resolve() / "mlartifacts"


def quiet_mlflow() -> None:
    """MLflow and alembic chat at INFO and warn about things users cannot act on.
    (Called after importing MLflow, which sets its own logger levels on import.)"""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import mlflow  # noqa: F401

    for name in ("mlflow", "mlflow.store.db.utils", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", module=r"mlflow(\..*)?")
    warnings.filterwarnings("ignore", module=r"alembic(\..*)?")


def client() -> MlflowClient:
    quiet_mlflow()
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=tracking_uri())


def experiment_id(mlflow: MlflowClient, name: str) -> str:
    """The experiment named after the blueprint, created on first use. With the embedded
    store its artifacts go under `$KILN_HOME/mlartifacts/<name>`."""
    from mlflow.exceptions import MlflowException

    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return str(found.experiment_id)
    location = None
    if not os.environ.get("KILN_TRACKING_URI"):
        location = (artifact_root() / name).as_uri()
    try:
        return str(mlflow.create_experiment(name, artifact_location=location))
    except MlflowException:  # created meanwhile by a parallel worker
        again = mlflow.get_experiment_by_name(name)
        if again is None:
            raise
        return str(again.experiment_id)


def flatten(value: Any, prefix: str = "") -> dict[str, str]:
    """A nested blueprint → `{"training.lr": "0.001", "architecture.trunk.0.linear.units": …}`.

    Lists of scalars stay one JSON value; values are cut to MLflow's length limit."""
    out: dict[str, str] = {}
    if isinstance(value, Mapping):
        for key, item in value.items():
            out.update(flatten(item, f"{prefix}.{key}" if prefix else str(key)))
    elif isinstance(value, list) and any(isinstance(v, (Mapping, list)) for v in value):
        for i, item in enumerate(value):
            out.update(flatten(item, f"{prefix}.{i}"))
    else:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if len(text) > MAX_PARAM_VALUE:
            text = text[:MAX_PARAM_VALUE - 3] + "..."
        out[prefix[:MAX_PARAM_KEY]] = text
    return out


def blueprint_params(blueprint: Blueprint) -> dict[str, str]:
    """The resolved blueprint flattened as written in YAML (`architecture.trunk.0.linear.units`)."""
    import yaml

    from kiln.blueprint import dump_blueprint

    return flatten(yaml.safe_load(dump_blueprint(blueprint)))


class Tracker:
    """One MLflow run: batched logging through `MlflowClient` (no global active run).

    Per-epoch metrics are buffered and written in one `log_batch` at most every
    `EPOCH_FLUSH_S` seconds (and by `flush()` / `end()`): one MLflow `log_batch` on SQLite
    costs tens of milliseconds of ORM work and commits, which would otherwise add to every
    short epoch. (Written on the calling thread on purpose: a background writer holds the
    GIL against the training loop's op dispatch.) A resumed run `backfill`s the epochs a
    killed process had not written yet.
    """

    EPOCH_FLUSH_S = 5.0

    def __init__(self, mlflow: MlflowClient, run_id: str) -> None:
        self.client = mlflow
        self.run_id = run_id
        self._buffer: list[tuple[dict[str, float], int]] = []
        self._last_write = 0.0

    @classmethod
    def start(cls, blueprint: Blueprint, *, name: str, tags: Mapping[str, Any],
              parent_run_id: str | None = None) -> Tracker:
        """Create the MLflow run (nested under `parent_run_id` when given), log the
        flattened blueprint as params and `tags`."""
        mlflow = client()
        if parent_run_id:
            exp = str(mlflow.get_run(parent_run_id).info.experiment_id)
            tags = {**tags, "mlflow.parentRunId": parent_run_id}
        else:
            exp = experiment_id(mlflow, blueprint.name)
        run = mlflow.create_run(exp, run_name=name,
                                tags={k: str(v) for k, v in tags.items() if v is not None})
        tracker = cls(mlflow, run.info.run_id)
        tracker.log_params(blueprint_params(blueprint))
        return tracker

    @classmethod
    def reopen(cls, run_id: str) -> Tracker:
        """Continue an MLflow run (a resumed training)."""
        mlflow = client()
        mlflow.update_run(run_id, status="RUNNING")
        return cls(mlflow, run_id)

    def log_params(self, params: Mapping[str, str]) -> None:
        from mlflow.entities import Param

        items = [Param(k, v) for k, v in params.items()]
        for start in range(0, len(items), BATCH):
            self.client.log_batch(self.run_id, params=items[start:start + BATCH])

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        """One batched call; NaN values are skipped (MLflow's UI cannot plot them)."""
        from mlflow.entities import Metric

        stamp = int(time.time() * 1000)
        items = [Metric(k, float(v), stamp, step) for k, v in metrics.items()
                 if not math.isnan(float(v))]
        for start in range(0, len(items), 1000):
            self.client.log_batch(self.run_id, metrics=items[start:start + 1000])

    def log_epoch(self, record: Mapping[str, Any]) -> None:
        """One history record of the loop, at step = epoch (buffered, see the class)."""
        metrics = {"train.loss": record["train_loss"], "lr": record["lr"],
                   "epoch_time_s": record["time"]}
        metrics.update({f"val.{k}": v for k, v in record["val"].items()})
        self._buffer.append((metrics, int(record["epoch"])))
        if time.monotonic() - self._last_write >= self.EPOCH_FLUSH_S:
            self.flush()

    def flush(self) -> None:
        """Write the buffered epochs now."""
        from mlflow.entities import Metric

        buffer, self._buffer = self._buffer, []
        self._last_write = time.monotonic()
        stamp = int(time.time() * 1000)
        items = [Metric(k, float(v), stamp, step) for metrics, step in buffer
                 for k, v in metrics.items() if not math.isnan(float(v))]
        for start in range(0, len(items), 1000):
            self.client.log_batch(self.run_id, metrics=items[start:start + 1000])

    def backfill(self, history: Iterable[Mapping[str, Any]]) -> None:
        """Log the history records that the MLflow run does not have yet."""
        logged = {m.step for m in self.client.get_metric_history(self.run_id, "train.loss")}
        for record in history:
            if int(record["epoch"]) not in logged:
                self.log_epoch(record)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        from mlflow.entities import RunTag

        self.client.log_batch(self.run_id, tags=[RunTag(k, str(v)) for k, v in tags.items()])

    def log_artifacts(self, paths: Iterable[Path], subdir: str | None = None) -> None:
        for path in paths:
            if path.exists():
                self.client.log_artifact(self.run_id, str(path), subdir)

    def end(self, status: str = "FINISHED") -> None:
        """Flush, then mark the run FINISHED, FAILED or KILLED."""
        try:
            self.flush()
        finally:
            self.client.set_terminated(self.run_id, status=status)


def log_artifact(run: Run | str | Path, path: str | Path, subdir: str | None = None) -> None:
    """Attach a file (e.g. the evaluation report) to a kiln run's MLflow run."""
    if not isinstance(run, Run):
        run = load_run(run)
    mlflow_id = run.info.get("mlflow_run_id")
    if not mlflow_id:
        return  # trained with tracking=False
    Tracker(client(), mlflow_id).log_artifacts([Path(path)], subdir)
