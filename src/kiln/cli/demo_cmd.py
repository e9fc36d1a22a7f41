"""`kiln demo`: the whole loop on a bundled dataset, no arguments needed.

design every bundled example → train the digits CNN → evaluate and report → compress →
export the selected variant as a bundle → verify it → register it as champion. Steps 2–5
are `kiln.pipeline.ship`; this module only prints what each step produced.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from kiln.cli.app import JSON_HELP, app, console, print_json


@app.command()
def demo(
    blueprint: Annotated[Path | None, typer.Option(
        help="Blueprint to carry through the loop (default: examples/digits_cnn.yaml).")] = None,
    epochs: Annotated[int | None, typer.Option(help="Override training epochs.")] = None,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Run kiln's main job end to end on the bundled digits dataset."""
    started = time.perf_counter()
    summary: dict[str, Any] = {"designs": _design_examples()}
    from kiln.examples import example

    bp_path = blueprint or example("digits_cnn.yaml")
    summary.update(_train_to_bundle(bp_path, epochs))
    summary["wall_s"] = round(time.perf_counter() - started, 1)
    console.rule("[bold]done")
    console.print(f"report: [bold]{summary['report']}[/]")
    console.print(f"bundle: [bold]{summary['bundle']}[/]  (registered as "
                  f"{summary['model']} version {summary['version']}, alias champion)")
    console.print(f"demo wall time: {summary['wall_s']} s")
    if json_out:
        print_json(summary)


def _design_examples() -> list[dict[str, Any]]:
    from rich.table import Table

    from kiln.blueprint import load_blueprint
    from kiln.blueprint.load import find_distributions, read_yaml
    from kiln.design import design
    from kiln.examples import EXAMPLES

    console.rule("[bold]1 · design every bundled example")
    table = Table("blueprint", "params", "FLOPs", "latency b=1 (ms)", "verdict")
    rows = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        raw, _ = read_yaml(path)
        if find_distributions(raw):
            continue  # a search blueprint: `kiln tune` makes it concrete
        report = design(load_blueprint(path))
        verdict = "[green]within budget[/]" if report.ok else "[red]over budget[/]"
        table.add_row(path.name, f"{report.params:,}", f"{report.flops:,}",
                      f"{report.latency_ms.get(1, float('nan')):.3f}", verdict)
        rows.append({"blueprint": path.name, "params": report.params, "ok": report.ok})
    console.print(table)
    return rows


def _train_to_bundle(bp_path: Path, epochs: int | None) -> dict[str, Any]:
    from kiln.blueprint import load_blueprint
    from kiln.cli.train_cmd import prepare_with_checks
    from kiln.pipeline import ship

    bp = load_blueprint(bp_path)
    if epochs is not None:
        bp.training.epochs = epochs
    console.rule(f"[bold]2 · train {bp.name}")
    data = prepare_with_checks(bp, show=True)
    shipped = ship(bp, data=data, prune=0.5, on_step=_show_step)
    return shipped.to_dict()


def _show_step(step: str, value: Any) -> None:
    """Print each pipeline step's result as it lands, with the stage's own renderer."""
    from kiln.cli.compress_cmd import render as render_variants
    from kiln.cli.evaluate_cmd import render_evaluation
    from kiln.cli.train_cmd import render_run

    if step == "train":
        render_run(value)
        console.rule("[bold]3 · evaluate beside classical baselines, write the report")
    elif step == "evaluate":
        render_evaluation(value.to_dict())
    elif step == "report":
        console.print(f"report: {value}")
        console.rule("[bold]4 · compress: ONNX fp32, int8, pruned — measured")
    elif step == "compress":
        render_variants(value)
        console.rule("[bold]5 · export the selected variant, verify it, register it")
    elif step == "export":
        console.print(f"bundle: {value} (verified against its manifest)")
    elif step == "register":
        console.print(f"registered {value.name} version {value.version}")
