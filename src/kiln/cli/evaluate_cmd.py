"""`kiln evaluate` (metrics with intervals, baselines, slices) and `kiln report` (HTML)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from kiln.cli.app import JSON_HELP, app, console, print_json

RUN_HELP = "Run id, a unique prefix of one, a run directory, or `latest`."


@app.command()
def evaluate(
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help=RUN_HELP)] = "latest",
    data: Annotated[Path | None, typer.Option(
        "--data", help="Evaluate every row of this table (same columns) instead of the "
                       "test split, through the run's fitted preprocessing.")] = None,
    resamples: Annotated[int, typer.Option("--resamples", min=100,
                                           help="Bootstrap resamples for the 95% intervals."
                                           )] = 1000,
    no_baselines: Annotated[bool, typer.Option("--no-baselines",
                                               help="Skip the classical baselines.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Judge a trained run: every metric of its task with a 95% bootstrap interval, beside
    logistic/ridge regression and gradient-boosted trees fitted on the same split, and
    per-slice metrics for `data.slices`. Writes evaluation.json in the run directory."""
    from kiln.evaluate import evaluate as run_evaluation

    ev = run_evaluation(run_id, data=data, resamples=resamples, baselines=not no_baselines)
    result = ev.to_dict()
    if json_out:
        print_json(result)
    else:
        render_evaluation(result)


@app.command()
def report(
    run_id: Annotated[str, typer.Argument(metavar="RUN_ID", help=RUN_HELP)] = "latest",
    refresh: Annotated[bool, typer.Option("--refresh",
                                          help="Evaluate again even when evaluation.json "
                                               "is up to date.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Write report.html for a run (one self-contained file: metrics, curves, confusion
    matrix, calibration, slices, architecture, data checks, environment); print its path."""
    from kiln.report import report as write_report

    path = write_report(run_id, refresh=refresh)
    if json_out:
        print_json({"report": str(path)})
    else:
        console.print(str(path), soft_wrap=True)


def _cell(est: dict[str, Any] | None) -> str:
    if not est or est.get("value") is None:
        return "—"
    low, high = est.get("ci95") or (None, None)
    if low is None or high is None:
        return f"{est['value']:.4f}"
    return f"{est['value']:.4f} [dim][{low:.4f}, {high:.4f}][/]"


def render_evaluation(ev: dict[str, Any]) -> None:
    from rich.table import Table

    baselines = ev["baselines"]
    objective = ev["objective"]["name"]
    table = Table(title=f"evaluate · {ev['name']} · {ev['data']} ({ev['rows']:,} rows)",
                  title_justify="left")
    table.add_column("metric")
    table.add_column("model [dim][95% CI][/]", justify="right")
    for b in baselines:
        table.add_column(b["name"].replace("_", " "), justify="right")
    for name, est in ev["metrics"].items():
        label = f"[bold]{name}[/] (objective)" if name == objective else name
        table.add_row(label, _cell(est), *[_cell(b["metrics"].get(name)) for b in baselines])
    console.print(table)
    for b in baselines:
        diff = b["model_minus_baseline"]
        notes = f" [dim]({'; '.join(b['notes'])})[/]" if b["notes"] else ""
        console.print(f"model − {b['name'].replace('_', ' ')} on {objective}: "
                      f"{_cell(diff)}{notes}")
    if ev["slices"]:
        render_slices(ev["slices"])
    console.print(f"[dim]{ev['bootstrap']['resamples']} bootstrap resamples · "
                  f"{ev['seconds']:.1f} s · {ev['path']}[/]", soft_wrap=True)


def render_slices(slices: list[dict[str, Any]]) -> None:
    from rich.table import Table

    names = list(slices[0]["metrics"])
    table = Table(title="slices", title_justify="left")
    table.add_column("feature")
    table.add_column("slice")
    table.add_column("rows", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    for s in slices:
        table.add_row(s["feature"], s["value"], f"{s['rows']:,}",
                      *[_cell(s["metrics"].get(n)) for n in names])
    console.print(table)
