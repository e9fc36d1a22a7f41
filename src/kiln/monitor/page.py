"""monitor.html: one self-contained page (inline CSS, base64 PNG figures, no scripts) of a
`MonitorReport`: the verdict and alerts, the drift table with reference-vs-live
distributions, accuracy over time (realised with intervals, estimated beside it) and
latency. Every value passes through `html.escape`."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from kiln.monitor import plots
from kiln.report.page import CSS, esc, estimate, num, table

if TYPE_CHECKING:
    from kiln.monitor.check import MonitorReport


def render(report: MonitorReport) -> str:
    """The page's HTML text."""
    drifted = {r.feature: True for r in report.drift if r.drifted}
    verdict = ("bad", f"drift detected in {', '.join(sorted(drifted))}") if drifted \
        else ("good", "no drift detected")
    parts = [f"<h1>kiln monitor</h1><p class='sub'>bundle <code>{esc(report.bundle)}</code> · "
             f"log <code>{esc(report.log)}</code> · window {esc(report.window)}</p>",
             f"<div class='verdict {verdict[0]}'>{esc(verdict[1])} · {len(report.alerts)} "
             f"alert(s)</div>"]
    if report.alerts:
        parts.append(table(["kind", "feature", "test", "value", "threshold", "message"],
                           [[esc(a.kind), esc(a.feature), esc(a.test), num(a.value),
                             num(a.threshold), esc(a.message)] for a in report.alerts],
                           row_class=["error"] * len(report.alerts)))
    parts += [f"<p class='sub'>{esc(n)}</p>" for n in report.notes]
    parts.append("<h2>drift</h2>")
    parts.append(table(
        ["feature", "test", "statistic", "p (raw)", "value", "threshold", "exact", "drift"],
        [[esc(r.feature), esc(r.test), num(r.statistic), num(r.p_value), num(r.value),
          num(r.threshold), "yes" if r.exact else "binned", "DRIFT" if r.drifted else "—"]
         for r in report.drift], numeric=[False, False, True, True, True, True],
        row_class=["error" if r.drifted else "" for r in report.drift]))
    parts.append(_image(plots.distributions(report.series, drifted),
                        "reference vs live distributions"))
    parts.append("<h2>performance</h2>")
    perf = report.performance
    rows = [["realised accuracy", estimate(perf.get("accuracy"))],
            ["estimated accuracy", estimate(perf.get("estimated_accuracy"))],
            ["macro F1", estimate(perf.get("f1_macro"))], ["MAE", estimate(perf.get("mae"))],
            ["labelled rows", num(report.labelled_rows)]]
    err = perf.get("estimate_error")
    if err:
        rows.append(["estimate − realised (labelled rows)", num(err["difference"])])
    parts.append(table(["figure", "value"], rows))
    parts.append(_image(plots.accuracy_over_time(report.over_time), "accuracy over time"))
    parts.append("<h2>operations</h2>")
    ops = report.operations
    parts.append(table(["figure", "value"], [[esc(k), num(v)] for k, v in ops.items()]))
    parts.append(_image(plots.latency_over_time(report.over_time), "latency"))
    body = "\n".join(p for p in parts if p)
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>kiln monitor"
            f"</title><style>{CSS}</style></head><body><main>{body}</main></body></html>")


def write_page(report: MonitorReport, path: str | Path) -> Path:
    """Write the page atomically (temp file beside it, then rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(render(report))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _image(png: str | None, alt: str) -> str:
    if png is None:
        return f"<p class='sub'>No data for {esc(alt)} yet.</p>"
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{png}">'


