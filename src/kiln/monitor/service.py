"""What a running service shows of the monitor: drift gauges for `/metrics` and a compact
status summary for its status page. Both take a `MonitorReport` (the service runs `check`
on its own log now and then) and return plain text / JSON — no Prometheus client needed.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiln.monitor.check import MonitorReport

GAUGES = {
    "kiln_drift_value": "Drift test value compared with its threshold (corrected p-value "
                        "or distance), per feature and test",
    "kiln_drift_detected": "1 when the test calls drift in the last monitored window",
    "kiln_drift_any": "1 when any drift test fired in the last monitored window",
    "kiln_monitor_rows": "Rows in the last monitored window",
    "kiln_accuracy": "Realised accuracy on labelled rows of the last window",
    "kiln_estimated_accuracy": "Confidence-based estimated accuracy of the last window",
    "kiln_ood_rate": "Share of answers flagged out of distribution in the last window",
    "kiln_monitor_alerts": "Alerts raised by the last monitored window",
}


def prometheus_lines(report: MonitorReport, *, model: str = "") -> str:
    """Prometheus text exposition (version 0.0.4) of the report's drift and performance
    gauges, labelled with `model`; append it to the service's `/metrics` body."""
    lines: list[str] = []

    def gauge(name: str, samples: list[tuple[dict[str, str], float | None]]) -> None:
        samples = [(labels, v) for labels, v in samples if v is not None and math.isfinite(v)]
        if not samples:
            return
        lines.append(f"# HELP {name} {GAUGES[name]}")
        lines.append(f"# TYPE {name} gauge")
        for labels, value in samples:
            body = ",".join(f'{k}="{_escape(v)}"' for k, v in {"model": model, **labels}.items())
            lines.append(f"{name}{{{body}}} {value:.6g}")

    per_test = [({"feature": r.feature, "test": r.test}, r) for r in report.drift]
    gauge("kiln_drift_value", [(labels, r.value) for labels, r in per_test])
    gauge("kiln_drift_detected", [(labels, float(r.drifted)) for labels, r in per_test])
    gauge("kiln_drift_any", [({}, float(report.drift_detected))])
    gauge("kiln_monitor_rows", [({}, float(report.rows))])
    gauge("kiln_accuracy", [({}, report.accuracy)])
    gauge("kiln_estimated_accuracy", [({}, report.estimated_accuracy)])
    gauge("kiln_ood_rate", [({}, report.operations.get("ood_rate"))])
    gauge("kiln_monitor_alerts", [({}, float(len(report.alerts)))])
    return "\n".join(lines) + ("\n" if lines else "")


def status_summary(report: MonitorReport, *, last_alerts: int = 5) -> dict[str, Any]:
    """A small JSON object for a status page: window, rows, drift verdict with the drifted
    features, realised and estimated accuracy, latency, OOD rate and the last alerts."""
    ops = report.operations
    return {
        "window": report.window, "rows": report.rows, "labelled_rows": report.labelled_rows,
        "drift_detected": report.drift_detected,
        "drifted_features": sorted({r.feature for r in report.drift if r.drifted}),
        "accuracy": report.accuracy, "estimated_accuracy": report.estimated_accuracy,
        "latency_p50_ms": ops.get("latency_p50_ms"), "latency_p99_ms": ops.get("latency_p99_ms"),
        "ood_rate": ops.get("ood_rate"), "error_rate": ops.get("error_rate"),
        "alerts": [a.message for a in report.alerts[:last_alerts]],
    }


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def service_watch(bundle: Any, log: Any, *, since: float | None,
                  model: str = "") -> tuple[str, dict[str, Any]]:
    """What `kiln serve` runs in its background thread (`ServeSettings.watcher`): `check`
    on the service's own log since `since`, as Prometheus lines and a status summary."""
    from kiln.monitor.check import check

    report = check(bundle, log, since=since)
    return prometheus_lines(report, model=model), status_summary(report)
