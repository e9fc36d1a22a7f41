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
    threads: Annotated[int | None, typer.Option(
        "--threads", min=1, help="CPU threads for the latency measurement (default: "
        "training.threads, else 1).")] = None,
) -> None:
    """Check a blueprint's model: shapes, parameters, FLOPs, latency, budgets.

    Builds the model, infers every shape, counts parameters and FLOPs per block, measures
    CPU latency and checks the budgets. Exit code 1 when a budget is exceeded."""
    from kiln.blueprint import load_blueprint
    from kiln.blueprint.load import find_distributions, read_source

    if find_distributions(read_source(blueprint)[0]):
        design_search_space(blueprint, json_out=json_out, measure=not no_latency,
                            threads=threads)
        return
    bp = load_blueprint(blueprint)  # before importing torch: a typo is reported at once
    from kiln.design import design as run_design

    report = run_design(bp, measure=not no_latency, threads=threads)
    if json_out:
        print_json(report.to_dict())
    else:
        render_design(report)
    if not report.ok:
        raise typer.Exit(1)


def design_search_space(path: Path, *, json_out: bool, measure: bool,
                        threads: int | None) -> None:
    """`kiln design` on a blueprint with search distributions: three models of the space."""
    from rich.table import Table

    from kiln.tune.design_space import design_space

    result = design_space(path, measure=measure, threads=threads)
    if json_out:
        print_json(result.to_dict())
    else:
        table = Table(title=f"{result.name} · search space: {result.distributions} "
                      f"distributions, {result.candidates} candidate models sized",
                      title_justify="left")
        for column in ("model", "params", "FLOPs", "latency (batch 1)", "budgets"):
            table.add_column(column, overflow="fold")
        for key, report in result.reports.items():
            latency = report.latency_ms.get(1)
            verdict = ("ok" if report.ok else "[red]over: " + ", ".join(
                b.name for b in report.budgets if not b.ok) + "[/]")
            table.add_row(key, human(report.params),
                          human(report.flops), "" if latency is None else f"{latency:.3f} ms",
                          verdict if report.budgets else "no budgets")
        console.print(table)
        for key, picked in result.picks.items():
            console.print(f"{key}: {picked or '—'}", soft_wrap=True)
        for note in result.notes:
            console.print(f"[yellow]{note}[/] — `kiln tune` skips trials over budget")
    if not result.ok:
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
    total = (f"[bold]total[/] (× {report.members} bagged members)" if report.members > 1
             else "[bold]total[/]")
    table.add_row(total, "", "", f"[bold]{report.params:,}[/]",
                  f"[bold]{human(report.flops)}[/]")
    console.print(table)
    console.print(f"size: {report.size_mb:.3f} MB (float32 weights)")
    if report.latency_ms:
        lat = " · ".join(f"batch {b}: {ms:.3f} ms" for b, ms in report.latency_ms.items())
        unit = "thread" if report.threads == 1 else "threads"
        console.print(f"latency (CPU, median, {report.threads} {unit}): {lat}")
    for check in report.budgets:
        mark = "[green]ok[/]" if check.ok else "[bold red]over[/]"
        unit = f" {check.unit}" if check.unit else ""
        console.print(f"budget {check.name}: {figure(check.value)}{unit} / limit "
                      f"{figure(check.limit)}{unit} → {mark}")
    if not report.budgets:
        console.print("[dim]no budgets set[/]")
    verdict = "[green]within budget[/]" if report.ok else "[bold red]over budget[/]"
    console.print(f"verdict: {verdict}")


def figure(value: float) -> str:
    """33,130 for counts; 0.1085 or 0.000132 (four significant digits) for measurements."""
    if float(value).is_integer() and abs(value) >= 1:
        return f"{int(value):,}"
    return f"{value:.4g}"


def human(n: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.2f}{unit}"
    return f"{int(n)}"


@app.command()
def blocks(
    plugin: Annotated[list[Path] | None, typer.Option(
        "--plugin", "-p", help="A plugin file whose blocks to list as well.")] = None,
    markdown: Annotated[bool, typer.Option(
        "--markdown", help="Print the Markdown tables of docs/blueprint.md.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """List the registered blocks and combiners with their arguments.

    Built-ins, plus those of the plugin files given with --plugin (as a blueprint's
    `plugins` would load them)."""
    from dataclasses import asdict

    from rich.markup import escape

    from kiln.blocks.catalog import catalog, markdown_table
    from kiln.model.plugins import load_plugin_file

    for i, path in enumerate(plugin or []):
        load_plugin_file(path, where=f"--plugin #{i + 1}")
    if markdown:
        print(markdown_table("block") + "\n\n" + markdown_table("combiner"))
        return
    infos = catalog("block") + catalog("combiner")
    if json_out:
        print_json({"blocks": [asdict(info) for info in infos]})
        return
    from rich.table import Table

    table = Table(title="registered blocks", title_justify="left")
    for column in ("name", "kind", "arguments", "what it does"):
        table.add_column(column)
    for info in infos:
        table.add_row(info.name, info.kind, escape(info.signature()) or "—", escape(info.doc))
    console.print(table)
