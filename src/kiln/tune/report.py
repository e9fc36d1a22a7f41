"""The study report: one self-contained HTML file (plots embedded as base64 PNG).

Optimisation history (every trial, the running best), parameter importances (Optuna's
fANOVA evaluator, from two completed trials on), and with several objectives the Pareto
front with the chosen trial marked; then the trials table.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import optuna
    from matplotlib.figure import Figure

    from kiln.tune.results import TuneResult

COLORS = {"COMPLETE": "#1f77b4", "PRUNED": "#ff7f0e", "REJECTED": "#9467bd", "FAIL": "#d62728"}


def write_report(study: optuna.Study, result: TuneResult, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    sections = [("Optimisation history", figure_html(history_figure(result)))]
    importances = importance_figure(study, result)
    if importances is not None:
        sections.append(("Parameter importances", figure_html(importances)))
    if len(result.objectives) > 1:
        sections.append(("Pareto front", figure_html(pareto_figure(result))))
    sections.append(("Trials", trials_table(result)))
    body = "\n".join(f"<h2>{html.escape(t)}</h2>\n{content}" for t, content in sections)
    best = (", ".join(f"{o} = {v:.4g}" for o, v in
                      zip(result.objectives, result.best_values, strict=True))
            if result.best_values else "no completed trial yet")
    page = f"""<!doctype html><html><head><meta charset="utf-8">
<title>kiln tune · {html.escape(result.study)}</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1000px;margin:2em auto;color:#222}}
table{{border-collapse:collapse;font-size:13px}}td,th{{border:1px solid #ddd;padding:3px 6px}}
img{{max-width:100%}}</style></head><body>
<h1>Study {html.escape(result.study)}</h1>
<p>Storage {html.escape(result.storage)} · objectives {html.escape(', '.join(
        f'{o} ({d})' for o, d in zip(result.objectives, result.directions, strict=True)))}
 · trials {html.escape(str(result.counts))}</p>
<p><b>Chosen trial {result.best_number}</b>: {html.escape(best)}</p>
{body}
</body></html>"""
    path.write_text(page, encoding="utf-8")
    return path


def figure_html(fig: Figure) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="plot" src="data:image/png;base64,{data}">'


def history_figure(result: TuneResult) -> Figure:
    """First objective per trial (coloured by state), and the best so far."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.5))
    maximize = result.directions[0] == "maximize"
    best: float | None = None
    xs, running = [], []
    for row in result.rows:
        if row.values is None:
            continue
        value = row.values[0]
        ax.scatter(row.number, value, s=18, color=COLORS.get(row.state, "#777"))
        if row.state == "COMPLETE":
            best = value if best is None else (max(best, value) if maximize
                                               else min(best, value))
        if best is not None:
            xs.append(row.number)
            running.append(best)
    ax.step(xs, running, where="post", color="#2ca02c", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(result.objectives[0])
    ax.legend(loc="best")
    return fig


def importance_figure(study: optuna.Study, result: TuneResult) -> Figure | None:
    import warnings

    import matplotlib.pyplot as plt
    import optuna

    complete = [r for r in result.rows if r.state == "COMPLETE"]
    if len(complete) < 2:
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            scores = optuna.importance.get_param_importances(
                study, target=(lambda t: t.values[0]) if len(result.objectives) > 1 else None)
    except (RuntimeError, ValueError):  # e.g. every completed trial has the same params
        return None
    if not scores:
        return None
    names = list(scores)[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(names) + 1))
    ax.barh(names, [scores[n] for n in names], color="#1f77b4")
    ax.set_xlabel(f"importance for {result.objectives[0]} (fANOVA)")
    return fig


def pareto_figure(result: TuneResult) -> Figure:
    """Objective 0 against objective 1: every completed trial, the front, the chosen one."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    done = [r for r in result.rows if r.state == "COMPLETE" and r.values]
    front = [r for r in done if r.number in result.pareto]
    ax.scatter([r.values[1] for r in done if r.values], [r.values[0] for r in done if r.values],
               s=16, color="#bbb", label="trials")
    front.sort(key=lambda r: r.values[1] if r.values else 0)
    ax.plot([r.values[1] for r in front if r.values], [r.values[0] for r in front if r.values],
            "o-", color="#1f77b4", label="Pareto front")
    chosen = [r for r in done if r.number == result.best_number]
    if chosen and chosen[0].values:
        ax.scatter([chosen[0].values[1]], [chosen[0].values[0]], s=120, marker="*",
                   color="#d62728", zorder=3, label=f"chosen (trial {chosen[0].number})")
    ax.set_xlabel(result.objectives[1])
    ax.set_ylabel(result.objectives[0])
    ax.legend(loc="best")
    return fig


def trials_table(result: TuneResult) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in
                   ("#", "state", *result.objectives, "seconds", "params", "note"))
    rows = []
    for r in result.rows:
        values = [f"{v:.4g}" for v in r.values] if r.values else [""] * len(result.objectives)
        cells: list[Any] = [r.number, r.state, *values,
                            f"{r.seconds:.1f}" if r.seconds is not None else "",
                            ", ".join(f"{k}={short(v)}" for k, v in r.params.items()), r.note]
        rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def short(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)
