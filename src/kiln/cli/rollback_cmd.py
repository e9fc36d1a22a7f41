"""`kiln rollback NAME`: the champion goes back to the version it replaced."""

from __future__ import annotations

from typing import Annotated

import typer

from kiln.cli.app import JSON_HELP, app, console, print_json


@app.command()
def rollback(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    alias: Annotated[str, typer.Option(help="Alias to move back.")] = "champion",
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Point NAME's champion (or --alias) back at the version it held before; servers
    that follow the alias (`kiln serve models:/NAME@champion --follow`) reload it. The
    same as `kiln registry rollback`; the alias history keeps both moves."""
    from kiln.registry import rollback as registry_rollback

    entry = registry_rollback(name, alias=alias)
    if json_out:
        print_json({"name": name, **entry})
        return
    console.print(f"[green]rolled back[/] {name}@{entry['alias']} → version "
                  f"{entry['version']} (was version {entry['previous']})")
