"""`kiln monitor`: drift, performance and alerts of the prediction log against a bundle."""

from __future__ import annotations

import logging
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kiln.cli.app import JSON_HELP, app, console, print_json

if TYPE_CHECKING:
    from kiln.monitor import MonitorReport

ALERT_EXIT = 3  # cron: a non-zero status when an alert fired
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str | None) -> float | None:
    """'90s', '5m', '1h', '2d' (or plain seconds) → seconds."""
    if text is None:
        return None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match or float(match.group(1)) <= 0:
        raise typer.BadParameter(f"{text!r} is not a duration — write e.g. 90s, 5m, 1h or 2d")
    return float(match.group(1)) * UNITS[match.group(2) or "s"]


@app.command("monitor")
def monitor_cmd(
    log: Annotated[Path, typer.Option("--log", help="The prediction log `kiln serve` writes.")],
    bundle: Annotated[str, typer.Option(
        "--bundle", help="Bundle folder or .zip, or models:/NAME@ALIAS from the registry.")],
    window: Annotated[str | None, typer.Option(
        help="Check the last WINDOW of the log (90s, 5m, 1h, 2d); default: all of it.")] = None,
    every: Annotated[str | None, typer.Option(
        help="Check again every EVERY (5m, 1h...) until interrupted.")] = None,
    times: Annotated[int | None, typer.Option(
        help="With --every: stop after this many checks.", min=1)] = None,
    alert_webhook: Annotated[str | None, typer.Option(
        "--alert-webhook", help="POST each window's alerts (JSON) to this URL.")] = None,
    labels: Annotated[Path | None, typer.Option(
        help="CSV of delayed ground truth: request_id,label[,record].")] = None,
    html: Annotated[Path | None, typer.Option(
        "--html", help="Write a self-contained HTML page of the report here.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Compare a window of the prediction log with the bundle's training profile: drift per
    feature and overall, realised and estimated accuracy, latency, error and OOD rates.
    Exits with status 3 when an alert fires (for cron); thresholds come from the bundle
    blueprint's `monitor:` section."""
    from kiln.monitor import AlertDeliveryError, post_webhook, resolve_bundle

    span = parse_duration(window)
    interval = parse_duration(every)
    _log_to_stderr()
    loaded = resolve_bundle(bundle)
    done = 0
    while True:
        report = _once(loaded, log, span, labels, html, json_out)
        if alert_webhook and report.alerts:
            try:
                post_webhook(alert_webhook, {
                    "source": "kiln monitor", "bundle": report.bundle,
                    "window": report.window, "alerts": [a.to_dict() for a in report.alerts]})
            except AlertDeliveryError as exc:
                if interval is None:
                    raise
                logging.getLogger("kiln.monitor").error("%s", exc)  # a watch keeps watching
        done += 1
        if interval is None or (times is not None and done >= times):
            break
        time.sleep(interval)
    if report.alerts:
        raise typer.Exit(ALERT_EXIT)


def _once(bundle: Any, log: Path, span: float | None, labels: Path | None,
          html: Path | None, json_out: bool) -> MonitorReport:
    from kiln.monitor import check
    from kiln.monitor.alerts import log_alerts
    from kiln.monitor.page import write_page

    report = check(bundle, log, since=None if span is None else time.time() - span,
                   labels=labels)
    log_alerts(report.alerts)
    if html is not None:
        write_page(report, html)
    if json_out:
        print_json(report.to_dict())
    else:
        _print(report, html)
    return report


def _print(report: MonitorReport, html: Path | None) -> None:
    from rich.markup import escape
    from rich.table import Table

    console.print(f"[bold]kiln monitor[/] {escape(report.bundle)} · {escape(report.window)}")
    drift = Table(title="drift", title_justify="left")
    for column in ("feature", "test", "value", "threshold", "exact", "verdict"):
        drift.add_column(column, justify="right" if column in ("value", "threshold") else "left")
    for r in report.drift:
        drift.add_row(escape(r.feature), r.test, f"{r.value:.4g}", f"{r.threshold:g}",
                      "exact" if r.exact else "binned",
                      "[bold red]DRIFT[/]" if r.drifted else "[green]ok[/]")
    console.print(drift)
    perf, ops = report.performance, report.operations
    for key in ("accuracy", "estimated_accuracy", "f1_macro", "mae"):
        if key in perf:
            ci = perf[key].get("ci95")
            shown = f" [dim][{ci[0]:.3f}, {ci[1]:.3f}][/]" if ci else ""
            console.print(f"{key.replace('_', ' ')}: {perf[key]['value']:.4f}{shown}")
    if "estimate_error" in perf:
        console.print(f"estimate − realised on labelled rows: "
                      f"{perf['estimate_error']['difference']:+.4f}")
    if ops.get("rows"):
        console.print(f"rows {ops['rows']:,} ({report.labelled_rows:,} labelled) · latency p50 "
                      f"{ops['latency_p50_ms']:.2f} ms p99 {ops['latency_p99_ms']:.2f} ms · "
                      f"OOD {ops['ood_rate']:.1%} · errors {ops['error_rate']:.1%}")
    if report.shadow is not None:
        sh = report.shadow
        both = (f" · on {sh['labelled_rows']:,} labelled rows: primary "
                f"{sh['primary_accuracy']:.4f}, shadow {sh['shadow_accuracy']:.4f}"
                if sh["labelled_rows"] else "")
        console.print(f"shadow {escape(sh['model'])} {escape(sh['version'])}: agrees on "
                      f"{sh['agreement']:.1%} of {sh['rows']:,} records{both}")
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    verdict = "[bold red]drift detected[/]" if report.drift_detected else "[green]no drift[/]"
    console.print(f"{verdict} · {len(report.alerts)} alert(s)")
    for alert in report.alerts:
        console.print(f"[bold red]ALERT[/] {escape(alert.message)}")
    if html is not None:
        console.print(f"page: {html}")


def _log_to_stderr() -> None:
    """Alert log lines go to stderr (once), whatever logging the caller set up."""
    logger = logging.getLogger("kiln.monitor")
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        handler = _Stderr()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s "
                                               "%(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


class _Stderr(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr
        super().emit(record)
