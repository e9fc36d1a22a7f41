"""`kiln init`: a table → a commented starter blueprint."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kiln.cli.app import JSON_HELP, app, console, print_json

if TYPE_CHECKING:
    from kiln.scaffold import Scaffold


@app.command()
def init(
    data: Annotated[str, typer.Option(
        "--data", "-d", help="A .csv, .parquet or .npz file, an image folder or sklearn:NAME.")],
    target: Annotated[list[str], typer.Option(
        "--target", "-t", help="The column to predict; repeat for several (multi-task).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the blueprint.")
                      ] = Path("blueprint.yaml"),
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
    seed: Annotated[int, typer.Option(
        "--seed", min=0, help="The blueprint's seed: splits, initial weights, batch order.")
                    ] = 0,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Write a starter blueprint inferred from a table.

    Feature types and the task are inferred from the data (each column gets a comment that
    says why), with a baseline architecture and budgets that `kiln design` accepts."""
    from kiln.scaffold import scaffold

    result = scaffold(data, target, output, force=force, seed=seed)
    if json_out:
        print_json(summary(result))
    else:
        render_scaffold(result)


def summary(result: Scaffold) -> dict[str, object]:
    """The `--json` object: where the blueprint went and what was inferred per column."""
    return {
        "path": str(result.path),
        "rows": result.rows,
        "task": result.task,
        "params": result.params,
        "starter": result.starter,
        "columns": [{"column": c.column, "role": c.role, "type": c.type, "reason": c.reason}
                    for c in result.columns],
    }


def render_scaffold(result: Scaffold) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"kiln init · {result.rows:,} rows", title_justify="left")
    table.add_column("column", no_wrap=True)
    table.add_column("inferred")
    table.add_column("why")
    for column in result.columns:
        kind = column.type or column.role
        style = "dim" if column.role in ("skipped", "ignored") else ""
        table.add_row(escape(column.column), f"[{style}]{kind}[/]" if style else kind,
                      escape(column.reason))
    console.print(table)
    tasks = ", ".join(f"{t} ({k})" for t, k in result.task.items())
    console.print(f"task: {escape(tasks)} · baseline model: {result.params:,} parameters")
    console.print(f"starter model: {escape(result.starter)}")
    console.print(f"wrote [bold]{escape(str(result.path))}[/] — next: "
                  f"kiln design {escape(str(result.path))}")
