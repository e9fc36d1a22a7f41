"""The whole loop, from a blueprint to a retrained champion that a live service follows.

    result = run_loop(load_blueprint("examples/breast_cancer_mlp.yaml"))
    result.figures["drift_to_alert_s"], result.figures["drift_to_serving_s"]

ship the champion (`kiln.pipeline.ship`) → start `kiln serve models:/NAME@champion
--follow` as a real process → clean traffic → injected drift (`kiln.demo.traffic`) →
`kiln.monitor.check` on the service's log until it alerts → delayed labels through
`/feedback` → `kiln.retrain` (drift trigger) trains, judges and promotes a challenger → the
service follows the alias. Each step hands its figures to `on_step(name, figures)`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiln.demo import traffic
from kiln.demo.server import Server, running_server
from kiln.errors import ServiceError

if TYPE_CHECKING:
    from kiln.blueprint.schema import Blueprint
    from kiln.data.prepared import PreparedData
    from kiln.monitor import MonitorReport

StepCallback = Callable[[str, Any], None]
RETRAIN_STEPS = {"resume", "trigger", "data", "gate", "promote"}


@dataclass
class LoopSettings:
    """How much traffic, how often the monitor looks, how fast the service follows."""

    clean_rows: int = 200  # capped at the validation + test rows
    drift_rows: int = 400
    batch_rows: int = 20  # records per /predict request
    check_every_rows: int = 100  # a monitor check after this many drifted rows
    min_window_rows: int = 100  # the monitor's min_window_rows for the demo
    follow_s: float = 1.0  # the service's --follow period
    switch_timeout_s: float = 60.0
    prune: float | None = 0.5


@dataclass
class LoopResult:
    """Figures and artifacts of one loop."""

    figures: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**self.figures, "artifacts": self.artifacts}


def run_loop(blueprint: Blueprint, *, folder: Path, data: PreparedData | None = None,
             settings: LoopSettings | None = None,
             on_step: StepCallback | None = None) -> LoopResult:
    """Run the loop once in `folder` (prediction log, server output, pages). The service
    is always stopped, also when a step fails. Raises what the stages raise, and
    `ServiceError` when the service does not start or does not follow the promotion."""
    from kiln.pipeline import ship

    s = settings or LoopSettings()
    step = on_step or (lambda _name, _value: None)
    blueprint.monitor.min_window_rows = s.min_window_rows
    result = LoopResult()
    shipped = ship(blueprint, data=data, prune=s.prune, on_step=step)
    assert shipped.version is not None  # register=True
    result.figures.update(shipped.to_dict())
    result.artifacts.update(report=str(shipped.report), bundle=str(shipped.bundle))
    name = shipped.version.name
    log = folder / "predictions.db"
    with running_server(f"models:/{name}@champion", "--follow", str(s.follow_s),
                        "--log", str(log), "--no-admin", "--flush-ms", "50",
                        "--monitor-every", "2", output=folder / "serve.log") as server:
        step("serve", {"url": server.url, "model": f"models:/{name}@champion"})
        result.artifacts.update(prediction_log=str(log), server_output=str(server.output))
        try:
            _loop(blueprint, shipped.bundle, server, log, folder, s, result, step)
        finally:
            saved = _save_status(server, folder)
            if saved is not None:
                result.artifacts["status_page"] = str(saved)
    return result


def _save_status(server: Server, folder: Path) -> Path | None:
    """The service's own status page (`GET /`) as it was at the end, kept as a file
    (None when the service no longer answers: the step that failed says why)."""
    from kiln.files import atomic_write_text

    try:
        text = server.get_text("/")
    except OSError:
        return None
    path = folder / "status.html"
    atomic_write_text(path, text)
    return path


def _loop(bp: Blueprint, bundle: Path, server: Server, log: Path, folder: Path,
          s: LoopSettings, result: LoopResult, step: StepCallback) -> None:
    from kiln.data import prepare_data

    data = prepare_data(bp)
    target = bp.task.targets[0].source_columns[0]
    clean = traffic.clean_rows(data, target, s.clean_rows, seed=bp.seed)
    drifted = traffic.drifted_rows(data, target, s.drift_rows, seed=bp.seed)
    figures = result.figures
    sent_clean = _send(server, clean, s.batch_rows)
    figures["clean"] = sent_clean.figures(clean)
    figures["version_before"] = sent_clean.version
    _wait_logged(log, since=sent_clean.started, rows=len(clean.records))
    report = _check(bundle, log, bp, since=sent_clean.started)
    figures["clean"]["drift_detected"] = report.drift_detected
    figures["clean"]["drifted"] = sorted({f"{r.feature} ({r.test})" for r in report.drift
                                          if r.drifted})
    step("clean", figures["clean"])
    drift_at = time.time()
    step("drift", {"features": traffic.drifted_features(data), "scale": traffic.SCALE})
    sent, alert_at, report = _send_until_alert(server, drifted, s, bundle, log, bp, drift_at)
    figures["drifted"] = {**sent.figures(drifted), "drift_detected": report.drift_detected,
                          "alerts": [a.message for a in report.alerts]}
    figures["drift_to_alert_s"] = round(alert_at - drift_at, 2) if alert_at else None
    step("detect", figures["drifted"] | {"drift_to_alert_s": figures["drift_to_alert_s"]})
    stored = _feedback(server, sent_clean) + _feedback(server, sent)
    labelled = _check(bundle, log, bp, since=drift_at)
    figures["labels"] = {"stored": stored, "realised_accuracy": labelled.accuracy,
                         "estimated_accuracy": labelled.estimated_accuracy}
    step("labels", figures["labels"])
    from kiln.monitor.page import write_page

    result.artifacts["monitor_page"] = str(write_page(labelled, folder / "monitor.html"))
    figures["retrain"] = _retrain(bp, log, result, step)
    if figures["retrain"]["decision"] == "promoted":
        version = _wait_for_switch(server, clean, sent_clean.version, s.switch_timeout_s)
        figures["drift_to_serving_s"] = round(time.time() - drift_at, 2)
        figures["version_after"] = version
        step("follow", {"version_before": sent_clean.version, "version_after": version,
                        "drift_to_serving_s": figures["drift_to_serving_s"]})


@dataclass
class Sent:
    """What the service answered to a run of requests."""

    started: float
    wall_s: float
    version: str
    request_ids: list[str]
    predictions: list[Any]
    labels: list[list[Any]]  # the true labels of each request's records

    def figures(self, rows: traffic.Rows) -> dict[str, Any]:
        return {"rows": len(rows.records), "requests": len(self.request_ids),
                "rows_per_s": round(len(rows.records) / self.wall_s, 1),
                "accuracy": round(traffic.accuracy(self.predictions, rows.labels), 4)}


def _send(server: Server, rows: traffic.Rows, batch: int) -> Sent:
    started, clock = time.time(), time.perf_counter()
    ids: list[str] = []
    predictions: list[Any] = []
    labels: list[list[Any]] = []
    version = ""
    for part in rows.batches(batch):
        answer = server.post("/predict", {"records": part.records})
        ids.append(answer["request_id"])
        labels.append(part.labels)
        version = str(answer["version"])
        predictions += [p["prediction"] for p in answer["predictions"]]
    return Sent(started, time.perf_counter() - clock, version, ids, predictions, labels)


def _send_until_alert(server: Server, rows: traffic.Rows, s: LoopSettings, bundle: Path,
                      log: Path, bp: Blueprint,
                      since: float) -> tuple[Sent, float | None, MonitorReport]:
    """Send the drifted rows in chunks; after each, check the window since the drift. The
    time of the first check that raised an alert is returned (None: no alert)."""
    parts: list[Sent] = []
    alert_at: float | None = None
    report = None
    for chunk in rows.batches(s.check_every_rows):
        parts.append(_send(server, chunk, s.batch_rows))
        _wait_logged(log, since=since, rows=sum(len(p.predictions) for p in parts))
        report = _check(bundle, log, bp, since=since)
        if alert_at is None and report.alerts:
            alert_at = time.time()
    assert report is not None
    sent = Sent(parts[0].started, sum(p.wall_s for p in parts), parts[-1].version,
                [i for p in parts for i in p.request_ids],
                [x for p in parts for x in p.predictions],
                [x for p in parts for x in p.labels])
    return sent, alert_at, report


def _wait_logged(log: Path, *, since: float, rows: int, timeout: float = 10.0) -> None:
    """Wait until the service's log writer (it flushes every 50 ms) has written `rows`
    rows since `since`, so that a check sees the whole window."""
    from kiln import prediction_log

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        conn = prediction_log.connect(log, create=False)
        try:
            if prediction_log.count(conn, since=since) >= rows:
                return
        finally:
            conn.close()
        time.sleep(0.05)


def _check(bundle: Path, log: Path, bp: Blueprint, *, since: float) -> MonitorReport:
    from kiln.monitor import check

    return check(bundle, log, since=since, spec=bp.monitor)


def _feedback(server: Server, sent: Sent) -> int:
    """The delayed labels, one `/feedback` item per request, sent in one body."""
    body = [{"request_id": rid, "labels": labels}
            for rid, labels in zip(sent.request_ids, sent.labels, strict=True)]
    answer = server.post("/feedback", body)
    return len(answer.get("stored", []))


def _retrain(bp: Blueprint, log: Path, result: LoopResult,
             step: StepCallback) -> dict[str, Any]:
    from kiln.blueprint.retrain_spec import RetrainSpec
    from kiln.retrain import retrain

    policy = RetrainSpec.model_validate({"triggers": {"drift": True}})
    def forward(name: str, value: Any) -> None:  # the challenger's pipeline steps, renamed
        step(name if name in RETRAIN_STEPS else f"challenger_{name}", value)

    outcome = retrain(bp, log=log, policy=policy, report=True, on_step=forward)
    record = outcome.record or {}
    challenger = record.get("challenger", {})
    result.artifacts.update(
        {k: v for k, v in {"retrain_record": str(outcome.record_path or ""),
                           "challenger_report": challenger.get("report") or "",
                           "challenger_bundle": challenger.get("bundle") or ""}.items() if v})
    test = record.get("test", {})
    return {"decision": outcome.decision, "reason": outcome.reason,
            "trigger": outcome.trigger.kind if outcome.trigger else None,
            "champion": record.get("champion", {}).get("metrics"),
            "challenger": challenger.get("metrics"), "p_value": test.get("p_value"),
            "improvement": test.get("improvement"), "data": record.get("data", {}).get("counts")}


def _wait_for_switch(server: Server, rows: traffic.Rows, before: str, timeout: float) -> str:
    """Ask the service until it answers from a version other than `before`."""
    probe = {"records": rows.records[:1]}
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        version = str(server.post("/predict", probe)["version"])
        if version != before:
            return version
        time.sleep(0.1)
    raise ServiceError(f"the service still answers from version {before} {timeout:.0f} s "
                       f"after the promotion — it does not follow the champion alias",
                       where=server.url)
