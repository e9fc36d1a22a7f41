"""`kiln registry register | promote | rollback | list`: bundles as MLflow model versions."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kiln.cli.app import JSON_HELP, app, console, print_json

if TYPE_CHECKING:
    from kiln.registry import VersionInfo

registry_app = typer.Typer(
    help="The model registry (MLflow, same store as the runs): versions, the champion and "
         "challenger aliases, promotion and rollback.", no_args_is_help=True)
app.add_typer(registry_app, name="registry")

ALIAS_HELP = "Alias to move: champion (what `kiln serve models:/NAME@champion` serves) or " \
             "challenger."


@registry_app.command("register")
def register_cmd(
    bundle: Annotated[Path, typer.Argument(help="Bundle folder or .zip (verified first).")],
    name: Annotated[str, typer.Option("--name", help="Registered model name.")],
    description: Annotated[str | None, typer.Option(help="Version description.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Verify a bundle and register it as a new version of model NAME."""
    from kiln.registry import register

    info = register(bundle, name=name, description=description)
    if json_out:
        print_json(info.to_dict())
        return
    console.print(f"[green]registered[/] {info.name} version {info.version} "
                  f"(run {info.source_run}, variant {info.variant}) — promote it with "
                  f"`kiln registry promote {info.name} {info.version} --alias champion`")


@registry_app.command("promote")
def promote_cmd(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    version: Annotated[int, typer.Argument(help="Version number.")],
    alias: Annotated[str, typer.Option(help=ALIAS_HELP)] = "champion",
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Point an alias (champion by default) at a version; the move is recorded."""
    from kiln.registry import promote

    entry = promote(name, version, alias=alias)
    _report(name, entry, json_out)


@registry_app.command("rollback")
def rollback_cmd(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    alias: Annotated[str, typer.Option(help=ALIAS_HELP)] = "champion",
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Point the alias back at the version it held before; the history keeps both moves."""
    from kiln.registry import rollback

    entry = rollback(name, alias=alias)
    _report(name, entry, json_out)


@registry_app.command("list")
def list_cmd(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Versions of NAME with aliases, metrics, source run and creation time; alias history."""
    from kiln.registry import history, list_versions

    versions = list_versions(name)
    moves = history(name)
    if json_out:
        print_json({"name": name, "versions": [v.to_dict() for v in versions],
                    "history": moves})
        return
    render_versions(name, versions)
    for move in moves[-5:]:
        was = f" (was {move['previous']})" if move["previous"] is not None else ""
        console.print(f"[dim]{move['at']} {move['action']} {move['alias']} → version "
                      f"{move['version']}{was}[/]")


def render_versions(name: str, versions: list[VersionInfo]) -> None:
    from kiln.cli.fit_table import Column, fit_table

    columns = [Column("version", keep=True), Column("aliases", keep=True),
               Column("test metrics", priority=3), Column("variant", priority=2),
               Column("source run", priority=1), Column("created", priority=0)]
    rows = []
    for v in versions:
        scores = v.metrics.get("test") or v.metrics.get("val") or {}
        shown = " · ".join(f"{k} {x:.4g}" for k, x in list(scores.items())[:3])
        aliases = ", ".join(f"[bold green]{a}[/]" if a == "champion" else a for a in v.aliases)
        rows.append([str(v.version), aliases, shown, v.variant or "", v.source_run or "",
                     v.created])
    console.print(fit_table(f"registry · {name}", columns, rows, console))


def _report(name: str, entry: dict[str, Any], json_out: bool) -> None:
    if json_out:
        print_json({"name": name, **entry})
        return
    was = f" (was version {entry['previous']})" if entry["previous"] is not None else ""
    console.print(f"[green]{entry['action']}[/] {name}@{entry['alias']} → version "
                  f"{entry['version']}{was}")
