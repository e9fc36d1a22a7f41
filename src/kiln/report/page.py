"""report.html, assembled: one self-contained page (inline CSS, base64 PNG figures, no
scripts, nothing fetched), from evaluation.json, metrics.json, run.json and the design rows.
Every value from a file passes through `html.escape`."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kiln.report import plots

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2433;
 margin:0;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px 28px 60px;background:#fff}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 10px;
 border-bottom:1px solid #e3e6eb;padding-bottom:4px}h3{font-size:15px;margin:18px 0 8px}
.sub{color:#5b6475;margin:0 0 14px}
table{border-collapse:collapse;margin:6px 0 14px;font-size:13px}
th,td{padding:4px 10px;border-bottom:1px solid #e9ecf0;text-align:left;vertical-align:top}
th{background:#f1f3f6;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ci{color:#6b7385;font-size:12px}.obj td{font-weight:600}
.verdict{padding:10px 14px;border-radius:6px;margin:10px 0;background:#eef4ff}
.good{background:#e8f6ec}.bad{background:#fdecec}
.ok{color:#1a7f37}.warning{color:#9a6700}.error{color:#cf222e}
img{max-width:100%;height:auto;display:block;margin:8px 0}
code{font-size:12px;background:#f1f3f6;padding:1px 4px;border-radius:3px}
"""


def esc(value: Any) -> str:
    return html.escape(str(value), quote=True)


def num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    if isinstance(value, int):
        return f"{value:,}"
    return esc(value)


def estimate(est: Mapping[str, Any] | None) -> str:
    """`0.9561 [0.9123, 0.9912]` with the interval greyed."""
    if not est:
        return "—"
    low, high = est.get("ci95") or (None, None)
    interval = f' <span class="ci">[{num(low)}, {num(high)}]</span>' if low is not None else ""
    return num(est.get("value")) + interval


def table(head: Sequence[str], rows: Iterable[Sequence[str]], numeric: Sequence[bool] = (),
          row_class: Sequence[str] = ()) -> str:
    """Cells are already-escaped HTML."""
    th = "".join(f"<th>{esc(h)}</th>" for h in head)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{row_class[i]}"' if i < len(row_class) and row_class[i] else ""
        tds = "".join(f'<td class="n">{c}</td>' if j < len(numeric) and numeric[j]
                      else f"<td>{c}</td>" for j, c in enumerate(row))
        body.append(f"<tr{cls}>{tds}</tr>")
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def image(png: str | None, alt: str) -> str:
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{png}">' if png else ""


def metrics_section(ev: Mapping[str, Any]) -> str:
    baselines = ev.get("baselines", [])
    objective = ev["objective"]["name"]
    head = ["metric", "model (95% CI)", *[b["name"] for b in baselines]]
    rows, classes = [], []
    for name, est in ev["metrics"].items():
        rows.append([esc(name), estimate(est),
                     *[estimate(b["metrics"].get(name)) for b in baselines]])
        classes.append("obj" if name == objective else "")
    out = [table(head, rows, [False] + [True] * (len(head) - 1), classes)]
    out.append(verdict(ev))
    return "".join(out)


def verdict(ev: Mapping[str, Any]) -> str:
    """Does the model beat the best baseline on the objective, beyond resampling noise?"""
    baselines = ev.get("baselines", [])
    if not baselines:
        return '<p class="sub">No baselines were fitted.</p>'
    objective = ev["objective"]
    sign = 1 if objective["direction"] == "maximize" else -1
    best = max(baselines, key=lambda b: sign * (b["metrics"][objective["name"]]["value"] or 0))
    diff = best["model_minus_baseline"]
    low, high = diff.get("ci95") or (None, None)
    if low is None or high is None:
        kind, words = "", "cannot be told apart from"
    elif sign * low > 0 and sign * high > 0:  # the whole interval on the model's side
        kind, words = "good", "beats"
    elif sign * low < 0 and sign * high < 0:
        kind, words = "bad", "is beaten by"
    else:
        kind, words = "", "is not clearly different from"
    return (f'<div class="verdict {kind}">On <b>{esc(objective["name"])}</b> the model '
            f'{words} the best classical baseline (<b>{esc(best["name"])}</b>): model − '
            f'baseline = {estimate(diff)} (paired bootstrap, 95% CI).</div>')


def target_section(name: str, target: Mapping[str, Any], multi: bool) -> str:
    out = [f"<h3>target {esc(name)} ({esc(target['type'])})</h3>" if multi else ""]
    labels = target.get("labels", [])
    if "confusion_matrix" in target:
        out.append(image(plots.confusion_matrix(target["confusion_matrix"], labels),
                         f"confusion matrix of {name}"))
    if target.get("curves"):
        out.append(image(plots.roc_and_pr(target["curves"]), f"ROC and PR curves of {name}"))
    if target.get("calibration", {}).get("count"):
        out.append(image(plots.calibration(target["calibration"]), f"calibration of {name}"))
    for output, points in target.get("residuals", {}).items():
        out.append(image(plots.residuals(points, output), f"residuals of {output}"))
    if target.get("per_class"):
        out.append("<h3>per class</h3>" + table(
            ["class", "precision", "recall", "F1", "support"],
            ([esc(r["label"]), num(r["precision"]), num(r["recall"]), num(r["f1"]),
              num(r["support"])] for r in target["per_class"]),
            [False, True, True, True, True]))
    return "".join(out)


def slices_section(slices: Sequence[Mapping[str, Any]]) -> str:
    if not slices:
        return '<p class="sub">No slices: list features under <code>data.slices</code>.</p>'
    names = list(slices[0]["metrics"])
    return table(["feature", "slice", "rows", *names],
                 ([esc(s["feature"]), esc(s["value"]), num(s["rows"]),
                   *[estimate(s["metrics"].get(n)) for n in names]] for s in slices),
                 [False, False, True, *[True] * len(names)])


def design_section(rows: Sequence[Mapping[str, Any]], totals: Mapping[str, Any]) -> str:
    if not rows:
        return '<p class="sub">The design table could not be rebuilt.</p>'
    body = [[esc(r["path"].removeprefix("architecture.")), esc(r["type"]),
             esc("(" + ", ".join(map(str, r["output_shape"])) + ")"), num(r["params"]),
             num(r["flops"])] for r in rows]
    members = int(totals.get("members") or 1)
    total = f"<b>total</b> (× {members} bagged members)" if members > 1 else "<b>total</b>"
    body.append([total, "", "", f"<b>{num(totals.get('params'))}</b>",
                 f"<b>{num(totals.get('flops'))}</b>"])
    return table(["block", "type", "output shape", "params", "FLOPs / sample"], body,
                 [False, False, False, True, True])


def checks_section(checks: Sequence[Mapping[str, str]]) -> str:
    if not checks:
        return '<p class="sub">No data checks were recorded for these rows.</p>'
    return table(["check", "level", "message"],
                 ([esc(c["name"]), f'<span class="{esc(c["level"])}">{esc(c["level"])}</span>',
                   esc(c["message"])] for c in checks))


def plain(value: Any) -> str:
    """A run.json value for people: no Python None / True / [...] on the page."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(plain(v) for v in value) or "—"
    if isinstance(value, Mapping):
        return ", ".join(f"{k} {plain(v)}" for k, v in value.items())
    return str(value)


def environment_section(info: Mapping[str, Any]) -> str:
    rows = []
    for key, value in info.items():
        if isinstance(value, Mapping):
            rows += [[esc(f"{key}.{k}"), esc(plain(v))] for k, v in value.items()]
        else:
            rows.append([esc(key), esc(plain(value))])
    return table(["field", "value"], rows)


def members_note(members: Sequence[Mapping[str, Any]]) -> str:
    """Under a bagged run's curves: whose curves they are, and every member's best epoch."""
    if not members:
        return ""
    epochs = " · ".join(f"{num(m['best_epoch'])}/{num(m['epochs_run'])}" for m in members)
    return (f'<p class="sub">The first of {len(members)} bagged members, each trained on '
            f"all training and validation rows but one fold and stopped on that fold; best "
            f"epoch / epochs run per member: {epochs}.</p>")


def render(ev: Mapping[str, Any], history: Sequence[Mapping[str, Any]],
           info: Mapping[str, Any], design_rows: Sequence[Mapping[str, Any]],
           design_totals: Mapping[str, Any],
           members: Sequence[Mapping[str, Any]] = ()) -> str:
    """The whole page as one string; `members`: a bagged run's (metrics.json "members")."""
    title = f"kiln report · {ev['name']} · {ev['run_id']}"
    boot = ev.get("bootstrap", {})
    curves = plots.learning_curves(history)
    multi = len(ev["targets"]) > 1
    parts = [
        f"<h1>{esc(ev['name'])}</h1>",
        f'<p class="sub">run <code>{esc(ev["run_id"])}</code> · evaluated on '
        f"{esc(ev['data'])} ({num(ev['rows'])} rows) · 95% intervals from "
        f"{num(boot.get('resamples'))} bootstrap resamples (seed {esc(boot.get('seed'))})</p>",
        "<h2>metrics</h2>", metrics_section(ev),
        "<h2>learning curves</h2>",
        image(curves, "learning curves") or '<p class="sub">No training history.</p>',
        members_note(members),
        "<h2>predictions</h2>",
        *[target_section(n, t, multi) for n, t in ev["targets"].items()],
        "<h2>slices</h2>", slices_section(ev.get("slices", [])),
        "<h2>architecture</h2>", design_section(design_rows, design_totals),
        "<h2>data checks</h2>", checks_section(ev.get("checks", [])),
        "<h2>environment</h2>", environment_section(info),
    ]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{esc(title)}</title><style>{CSS}</style></head>"
            f"<body><main>{''.join(parts)}</main></body></html>\n")
