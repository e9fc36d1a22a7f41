"""The service's status page at `GET /`: one self-contained HTML page (inline CSS, one
inline script that refreshes the figures from `/status` every 5 s; no external assets).
Every value passes through `html.escape` on the server and `textContent` in the page."""

from __future__ import annotations

import html
import json
import time
from typing import Any

CSS = """body{font:15px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#222}
h1{font-size:1.5rem;margin:0 0 .2rem}.sub{color:#666;margin:0 0 1rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(11rem,1fr));gap:.7rem}
.card{border:1px solid #ddd;border-radius:.5rem;padding:.6rem .8rem}
.card b{display:block;font-size:1.3rem}.card span{color:#666;font-size:.85rem}
.good{background:#e9f7ef}.bad{background:#fdecea}.idle{background:#f4f4f4}
ul{padding-left:1.2rem}code{font-size:.9em}"""

SCRIPT = """
window.onerror = () => { document.body.dataset.jserror = '1'; };
async function refresh(){
  const r = await fetch('status'); if(!r.ok) return;
  const s = await r.json();
  document.getElementById('uptime').textContent = Math.round(s.uptime_s) + ' s';
  document.getElementById('rate').textContent = s.records_per_s.toFixed(1) + ' /s';
  document.getElementById('version').textContent = s.version;
  document.body.dataset.refreshed = '1';
}
refresh().catch(() => {});
setInterval(() => refresh().catch(() => {}), 5000);
"""


def render(status: dict[str, Any]) -> str:
    """The page's HTML from the `/status` object."""
    e = html.escape
    monitor = status["monitor"]
    summary = monitor.get("summary") or {}
    cards = [("model", e(status["model"]), ""), ("version", e(str(status["version"])), "version"),
             ("uptime", f"{status['uptime_s']:.0f} s", "uptime"),
             ("request rate", f"{status['records_per_s']:.1f} /s", "rate")]
    if summary:
        drifted = summary.get("drift_detected")
        cards += [("drift", "detected" if drifted else "none", ""),
                  ("window rows", str(summary.get("rows")), ""),
                  ("accuracy", _num(summary.get("accuracy")), ""),
                  ("estimated accuracy", _num(summary.get("estimated_accuracy")), ""),
                  ("latency p50 / p99", f"{_num(summary.get('latency_p50_ms'), 2)} / "
                                        f"{_num(summary.get('latency_p99_ms'), 2)} ms", ""),
                  ("error rate", _num(summary.get("error_rate")), "")]
    grid = "".join(f"<div class='card'><span>{e(k)}</span><b id='{i}'>{v}</b></div>"
                   if i else f"<div class='card'><span>{e(k)}</span><b>{v}</b></div>"
                   for k, v, i in cards)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>kiln serve · "
            f"{e(status['model'])}</title><style>{CSS}</style></head><body>"
            f"<h1>kiln serve · {e(status['model'])}</h1><p class='sub'>source "
            f"<code>{e(status['source'])}</code></p><div class='cards'>{grid}</div>"
            f"{_monitor_section(monitor, summary)}"
            f"<script id='status' type='application/json'>"
            f"{e(json.dumps(status, default=str))}</script>"
            f"<script>{SCRIPT}</script></body></html>")


def _monitor_section(monitor: dict[str, Any], summary: dict[str, Any]) -> str:
    e = html.escape
    if not monitor.get("watcher"):
        return ("<h2>monitor</h2><div class='card idle'>no monitor checks (this service "
                "has no watcher: install kiln[monitor] and start it with kiln serve)</div>")
    if monitor.get("checked_at") is None:
        return (f"<h2>monitor</h2><div class='card idle'>first check within "
                f"{monitor['every_s']:.0f} s</div>")
    when = time.strftime("%H:%M:%S", time.gmtime(monitor["checked_at"]))
    verdict = "bad" if summary.get("drift_detected") or summary.get("alerts") else "good"
    drifted = ", ".join(summary.get("drifted_features") or []) or "none"
    error = f"<p>last check failed: {e(monitor['error'])}</p>" if monitor.get("error") else ""
    alerts = "".join(f"<li>{e(a)}</li>" for a in monitor.get("last_alerts") or [])
    return (f"<h2>monitor</h2><div class='card {verdict}'>last check {when} UTC · window "
            f"{e(str(summary.get('window', '—')))} · drifted features: {e(drifted)}</div>"
            f"{error}<h2>last alerts</h2><ul>{alerts or '<li>none</li>'}</ul>")


def _num(value: Any, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"
