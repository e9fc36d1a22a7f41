"""`kiln.monitor.check`: one window of the prediction log against a bundle's profile.

    report = kiln.monitor.check("bundles/digits", "kiln-runs/predictions.db",
                                since=time.time() - 3600)
    report.drift_detected, report.accuracy, [a.message for a in report.alerts]
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiln.monitor import performance
from kiln.monitor.alerts import Alert, drift_alerts, performance_alerts
from kiln.monitor.drift import DriftResult, Series, drift_table, input_matrix, summary
from kiln.monitor.series import build_series
from kiln.monitor.shadow import agreement
from kiln.monitor.window import Window, read_window

if TYPE_CHECKING:
    from kiln.blueprint.monitor_spec import MonitorSpec
    from kiln.bundle import Bundle


@dataclass
class MonitorReport:
    """What `check` found. `alerts` is empty when nothing crossed a threshold (or the
    window was below `min_window_rows`); `accuracy` is the realised accuracy on labelled
    rows (None before labels arrive, or for regression: see `performance["mae"]`)."""

    bundle: str
    log: str
    window: str
    since: float | None
    until: float | None
    rows: int
    labelled_rows: int
    drift: list[DriftResult]
    drift_detected: bool
    performance: dict[str, Any]
    operations: dict[str, Any]
    over_time: list[dict[str, Any]]
    alerts: list[Alert]
    spec: dict[str, Any]
    versions: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    # a shadow model's agreement with the primary (`kiln.monitor.shadow`), None without one
    shadow: dict[str, Any] | None = None
    # kept for the HTML page (not serialised): the series that were tested
    series: list[Series] = field(default_factory=list, repr=False)

    @property
    def accuracy(self) -> float | None:
        acc = self.performance.get("accuracy")
        return None if acc is None else float(acc["value"])

    @property
    def estimated_accuracy(self) -> float | None:
        est = self.performance.get("estimated_accuracy")
        return None if est is None else float(est["value"])

    def to_dict(self) -> dict[str, Any]:
        """The `kiln monitor --json` object."""
        return {"bundle": self.bundle, "log": self.log, "window": self.window,
                "since": self.since, "until": self.until, "rows": self.rows,
                "labelled_rows": self.labelled_rows, "drift_detected": self.drift_detected,
                "drift_summary": summary(self.drift),
                "drift": [r.to_dict() for r in self.drift],
                "performance": self.performance, "operations": self.operations,
                "over_time": self.over_time, "alerts": [a.to_dict() for a in self.alerts],
                "spec": self.spec, "versions": self.versions, "notes": self.notes,
                "shadow": self.shadow}


def check(bundle: str | Path | Bundle, log: str | Path, *, since: float | None = None,
          until: float | None = None, spec: MonitorSpec | None = None,
          labels: str | Path | None = None) -> MonitorReport:
    """Drift, performance and alerts of the log's rows with `since <= ts < until`.

    `bundle`: a bundle path, a `models:/name@alias` reference or a loaded `Bundle`;
    `spec`: the monitor settings (default: the bundle blueprint's `monitor:` section);
    `labels`: a `request_id,label[,record]` CSV joined on top of the log's feedback.
    Raises `DataError` for a missing or unreadable log, `BundleError` / `RegistryError`
    for a bundle that cannot be loaded.
    """
    loaded = resolve_bundle(bundle)
    spec = spec or spec_of(loaded)
    window = read_window(log, loaded.fields, since=since, until=until, labels_csv=labels,
                         vocab=text_vocabularies(loaded))
    series, results = drift_of(loaded, window, spec)
    notes = _notes(loaded.profile, series)
    head = loaded.outputs[0]
    table = (loaded.profile["outputs"].get(head["name"]) or {}).get("calibration")
    perf = performance.classification(window, table) if head["type"] == "classification" \
        else performance.regression(window)
    ops = performance.operations(window)
    label = window_label(window, since, until)
    alerts: list[Alert] = []
    if len(window) >= spec.min_window_rows:
        alerts = drift_alerts(results, label) + performance_alerts(perf, ops, spec, label)
    else:
        notes.append(f"{len(window)} rows < min_window_rows {spec.min_window_rows}: "
                     f"figures shown, no alerts raised")
    return MonitorReport(
        bundle=str(getattr(loaded, "path", bundle)), log=str(log), window=label,
        since=since, until=until, rows=len(window),
        labelled_rows=int(perf.get("labelled_rows", 0)), drift=results,
        drift_detected=any(r.drifted for r in results), performance=perf, operations=ops,
        over_time=performance.over_time(window, head, table), alerts=alerts,
        spec=spec.model_dump(), versions=window.versions, notes=notes, series=series,
        shadow=agreement(log, since=since, until=until))


def drift_of(bundle: Bundle, window: Window,
             spec: MonitorSpec) -> tuple[list[Series], list[DriftResult]]:
    """The monitored series of `window` and every drift test on them (corrected)."""
    series = build_series(bundle.profile, bundle.fields, bundle.outputs, window,
                          text_vocabularies(bundle))
    if len(window) == 0:
        return series, []
    return series, drift_table(series, spec, input_matrix(series))


def text_vocabularies(bundle: Bundle) -> dict[str, list[str]]:
    """Text field → the vocabulary its tokeniser was fitted with."""
    return {name: t.vocab for name, t in bundle.preprocessor.columns.items()
            if getattr(t, "kind", "") == "text" and hasattr(t, "vocab")}


def resolve_bundle(bundle: str | Path | Bundle) -> Bundle:
    """A loaded bundle from a path, a `models:/name@alias` (or `models:/name/3`) ref, or
    a `Bundle` (returned as is)."""
    from kiln.bundle import Bundle, load

    if isinstance(bundle, Bundle):
        return bundle
    text = str(bundle)
    if text.startswith("models:/"):
        from kiln.registry import bundle_path

        ref = text.removeprefix("models:/")
        name, _, alias = ref.partition("@") if "@" in ref else ref.partition("/")
        return load(bundle_path(name, alias or "champion"))
    return load(text)


def spec_of(bundle: Bundle) -> MonitorSpec:
    """The bundle blueprint's `monitor:` section (defaults where it has none)."""
    import yaml

    from kiln.blueprint.monitor_spec import MonitorSpec

    raw = yaml.safe_load(bundle.blueprint_yaml) or {}
    section = raw.get("monitor") if isinstance(raw, dict) else None
    return MonitorSpec.model_validate(section or {})


def window_label(window: Window, since: float | None, until: float | None) -> str:
    def stamp(t: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))

    if len(window) == 0 and since is None:
        return "empty log"
    start = since if since is not None else float(window.ts[0])
    end = until if until is not None else (float(window.ts[-1]) if len(window) else start)
    return f"{stamp(start)}..{stamp(end)} ({len(window)} rows)"


def _notes(profile: dict[str, Any], series: list[Series]) -> list[str]:
    if profile.get("sample"):
        return []
    binned = ", ".join(s.name for s in series if s.kind == "numeric")
    return [f"bundle without a reference sample (exported before kiln monitor): numeric "
            f"tests are binned on the profile's histograms ({binned or 'none'}); no domain "
            f"classifier — re-export the bundle for exact tests"]
