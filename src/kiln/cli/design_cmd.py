"""`kiln design`, `kiln init`, `kiln blocks`: the design-time verbs."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kiln.cli.app import JSON_HELP, app, console, print_json

if TYPE_CHECKING:
    from kiln.design import DesignReport


@app.command()
def design(
    blueprint: Annotated[Path, typer.Argument(help="Blueprint YAML file.")],
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
    no_latency: Annotated[bool, typer.Option("--no-latency",
                                             help="Skip the latency measurement.")] = False,
) -> None:
    """Build the model, infer every shape, count parameters and FLOPs, measure CPU latency,
    check the budgets. Exit code 1 when a budget is exceeded."""
    from kiln.blueprint import load_blueprint
    from kiln.design import design as run_design

    bp = load_blueprint(blueprint)
    report = run_design(bp, measure=not no_latency)
    if json_out:
        print_json(report.to_dict())
    else:
        render_design(report)
    if not report.ok:
        raise typer.Exit(1)


def render_design(report: DesignReport) -> None:
    from rich.table import Table

    table = Table(title=f"design · {report.name}", title_justify="left", show_lines=False)
    table.add_column("block (architecture.…)", no_wrap=True)
    table.add_column("type")
    table.add_column("output shape")
    table.add_column("params", justify="right")
    table.add_column("FLOPs", justify="right")
    for row in report.rows:
        indent = "  " * row.depth
        kind = f"{row.type} [dim](default)[/]" if row.default else row.type
        path = row.path.removeprefix("architecture.")
        table.add_row(f"{indent}{path}", kind, "(" + ", ".join(["N", *map(str, row.out_shape)])
                      + ")", f"{row.params:,}", human(row.flops))
    table.add_section()
    table.add_row("[bold]total[/]", "", "", f"[bold]{report.params:,}[/]",
                  f"[bold]{human(report.flops)}[/]")
    console.print(table)
    if report.latency_ms:
        lat = " · ".join(f"batch {b}: {ms:.3f} ms" for b, ms in report.latency_ms.items())
        console.print(f"latency (CPU, median, {report.threads} threads): {lat}")
    for check in report.budgets:
        mark = "[green]ok[/]" if check.ok else "[bold red]over[/]"
        unit = f" {check.unit}" if check.unit else ""
        console.print(f"budget {check.name}: {check.value:,}{unit} / limit "
                      f"{check.limit:,}{unit} → {mark}")
    if not report.budgets:
        console.print("[dim]no budgets set[/]")
    verdict = "[green]within budget[/]" if report.ok else "[bold red]over budget[/]"
    console.print(f"verdict: {verdict}")


def human(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return f"{int(n)}"
