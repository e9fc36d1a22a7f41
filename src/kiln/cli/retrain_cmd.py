"""`kiln retrain`: trigger → challenger → gate → promote or not, with the reason."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kiln.cli.app import JSON_HELP, app, console, print_json

if TYPE_CHECKING:
    from kiln.retrain import RetrainResult


@app.command()
def retrain(
    blueprint: Annotated[Path, typer.Argument(help="The champion's blueprint YAML file.")],
    new_data: Annotated[Path | None, typer.Option(
        "--new-data", help="New labelled rows (CSV, Parquet, .npz): retrain on them now.")] = None,
    policy: Annotated[Path | None, typer.Option(
        help="Policy YAML (default: the blueprint's retrain: section).")] = None,
    log: Annotated[Path | None, typer.Option(
        help="Prediction log of `kiln serve --log`: triggers and labelled rows.")] = None,
    name: Annotated[str | None, typer.Option(
        help="Registered model (default: the blueprint's name).")] = None,
    watch: Annotated[bool, typer.Option(
        "--watch", help="Keep checking the policy; retrain when it says so.")] = False,
    every: Annotated[float | None, typer.Option(
        min=0, help="--watch: seconds between checks (default: policy check_every).")] = None,
    max_cycles: Annotated[int | None, typer.Option(
        min=1, help="--watch: stop after this many checks.")] = None,
    report: Annotated[bool, typer.Option(
        help="Write the challenger's HTML report.")] = True,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Train a challenger when the policy's triggers fire (or on --new-data), judge it
    against the champion on the same fresh holdout, and promote it only when it passes
    the gate. The retrain record goes to $KILN_HOME/retrain/ and to MLflow."""
    from kiln.blueprint import load_blueprint
    from kiln.retrain import load_policy
    from kiln.retrain import retrain as run_retrain
    from kiln.retrain import watch as run_watch

    bp = load_blueprint(blueprint)
    spec = load_policy(policy, blueprint=bp)
    if not watch:
        result = run_retrain(bp, new_data=new_data, log=log, policy=spec, name=name,
                             report=report)
        _show(result, json_out)
        return
    results = run_watch(bp, log=log, new_data=new_data, policy=spec, name=name, every=every,
                        max_cycles=max_cycles, report=report,
                        on_result=lambda r: _show(r, False) if not json_out else None)
    if json_out:
        print_json({"cycles": [r.to_dict() for r in results]})


def _show(result: RetrainResult, json_out: bool) -> None:
    if json_out:
        print_json(result.to_dict())
        return
    colour = {"promoted": "green", "refused": "yellow"}.get(result.decision, "dim")
    record = result.record
    if result.trigger is not None:
        console.print(f"trigger [bold]{result.trigger.kind}[/] ({result.trigger.id}): "
                      f"{result.trigger.reason}")
    if record is not None and record.get("status") == "decided":
        _render_record(record)
    again = " (decided before: nothing done again)" if result.repeated else ""
    console.print(f"[bold {colour}]{result.decision}[/]{again}: {result.reason}")
    if result.record_path is not None:
        console.print(f"[dim]record: {result.record_path}[/]")


def _render_record(record: dict[str, Any]) -> None:
    from rich.table import Table

    counts = record["data"]["counts"]
    console.print(f"data: {counts['original_train']} original + {counts['new_train']} new "
                  f"training rows, {counts['holdout']} fresh holdout rows "
                  f"(fingerprint {record['data']['fingerprint'][:12]})")
    table = Table(title="fresh holdout", title_justify="left")
    for column in ("model", "version", "metric", "value", "95% CI"):
        table.add_column(column)
    for side in ("champion", "challenger"):
        entry = record[side]
        for metric, m in entry.get("metrics", {}).items():
            low, high = m["ci95"]
            interval = f"{low:.4f} – {high:.4f}" if low is not None else "n/a"
            table.add_row(side, str(entry["version"]), metric, f"{m['value']:.4f}", interval)
    console.print(table)
    test = record["test"]
    console.print(f"paired test: {test['name']} · improvement {test['improvement']:+.4f} · "
                  f"p = {test['p_value']:.4g} · n = {test['n']}")
