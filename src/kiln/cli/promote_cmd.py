"""`kiln promote NAME --log PATH`: promote the challenger on shadow evidence."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kiln.cli.app import JSON_HELP, app, console, print_json


@app.command()
def promote(
    name: Annotated[str, typer.Argument(help="Registered model name.")],
    log: Annotated[Path, typer.Option(help="The prediction log the service writes, with "
                                           "the challenger's shadow answers.")],
    since: Annotated[float | None, typer.Option(help="Only pairs logged from this unix "
                                                     "time on.")] = None,
    min_pairs: Annotated[int, typer.Option(help="Labelled pairs needed for a decision.")] = 30,
    min_improvement: Annotated[float, typer.Option(help="Required gain (accuracy points, "
                                                        "or MAE).")] = 0.0,
    alpha: Annotated[float, typer.Option(help="Significance of the paired test.")] = 0.05,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Promote NAME's challenger to champion when, served in shadow (`kiln serve
    models:/NAME@champion --shadow models:/NAME@challenger`), its answers to the same
    labelled live records beat the champion's — the same paired gate as `kiln retrain`.
    Exit code 0 when promoted, 1 when the gate refuses (the reason is printed)."""
    from kiln.blueprint.retrain_spec import GateSpec
    from kiln.retrain.shadow_gate import promote_on_shadow

    gate = GateSpec(min_improvement=min_improvement, alpha=alpha)
    decision = promote_on_shadow(name, log, gate=gate, since=since, min_pairs=min_pairs)
    if json_out:
        print_json({**decision.record, "record_path": str(decision.record_path)})
    else:
        colour = "green" if decision.promoted else "yellow"
        console.print(f"[{colour}]{'promoted' if decision.promoted else 'not promoted'}[/] "
                      f"{name}: {decision.reason}")
        console.print(f"record: {decision.record_path}")
    if not decision.promoted:
        raise typer.Exit(1)
