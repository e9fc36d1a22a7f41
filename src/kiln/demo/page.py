"""summary.html: the demo's last page — the loop's figures and a link to every artifact
(champion report, bundles, monitor page, retrain record, prediction log, server output).
Self-contained (inline CSS, no scripts); every value passes through `html.escape`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiln.report.page import CSS, esc, table

LABELS = {"report": "champion report (report.html)", "bundle": "champion bundle",
          "monitor_page": "monitor page (drift window, labelled)",
          "retrain_record": "retrain record (JSON)", "challenger_report": "challenger report",
          "challenger_bundle": "challenger bundle (the new champion when promoted)",
          "prediction_log": "prediction log (SQLite)",
          "status_page": "the service's status page (GET /, saved at the end)",
          "server_output": "kiln serve output"}


def render(summary: dict[str, Any]) -> str:
    """The page's HTML text from the demo's summary object."""
    retrain = summary.get("retrain") or {}
    rows = [
        ["champion", f"{summary.get('model')} v{summary.get('version')} · test accuracy "
                     f"{_num((summary.get('test') or {}).get('accuracy'))}"],
        ["clean traffic", _traffic(summary.get("clean"))],
        ["drifted traffic", _traffic(summary.get("drifted"))],
        ["drift → first alert", f"{_num(summary.get('drift_to_alert_s'))} s"],
        ["retrain", f"{retrain.get('decision')}: {retrain.get('reason')}"],
        ["drift → new champion serving", f"{_num(summary.get('drift_to_serving_s'))} s "
                                         f"(version {summary.get('version_before')} → "
                                         f"{summary.get('version_after')})"],
        ["demo wall time", f"{_num(summary.get('wall_s'))} s"],
    ]
    links = "".join(f"<li><a href='{esc(Path(path).resolve().as_uri())}'>"  # ./kiln-runs too
                    f"{esc(LABELS.get(key, key))}</a> <code>{esc(path)}</code></li>"
                    for key, path in (summary.get("artifacts") or {}).items()
                    if path and Path(path).exists())
    cells = [[esc(a), esc(b)] for a, b in rows]
    alerts = "".join(f"<li>{esc(a)}</li>" for a in (summary.get("drifted") or {})
                     .get("alerts", []))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>kiln demo</title>"
            f"<style>{CSS}</style></head><body><h1>kiln demo: the whole loop</h1>"
            f"{table(['step', 'figure'], cells)}<h2>alerts</h2><ul>{alerts or '<li>none</li>'}"
            f"</ul><h2>artifacts</h2><ul>{links}</ul></body></html>")


def write_summary(summary: dict[str, Any], path: Path) -> Path:
    """Write the page atomically; returns its path."""
    from kiln.files import atomic_write_text

    atomic_write_text(path, render(summary))
    return path


def _traffic(figures: dict[str, Any] | None) -> str:
    if not figures:
        return "—"
    return (f"{figures['rows']} rows in {figures['requests']} requests · "
            f"{figures['rows_per_s']} rows/s · accuracy {_num(figures['accuracy'])} · drift "
            f"{'detected' if figures.get('drift_detected') else 'not detected'}")


def _num(value: Any) -> str:
    return "—" if value is None else f"{value:.4g}" if isinstance(value, float) else str(value)
