"""`kiln demo`: the whole loop on a bundled dataset, no arguments needed.

design every bundled example → train → evaluate and report → compress → export → register
champion (`kiln.pipeline.ship`) → serve it in a real `kiln serve` process that follows the
champion alias → clean traffic → injected drift → `kiln monitor` detects it → delayed
labels → `kiln retrain` promotes a challenger → the service follows → summary page. The
loop is `kiln.demo.run_loop`; this module only prints what each step produced.
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
        help="Blueprint to carry through the loop (default: examples/breast_cancer_mlp.yaml)."
    )] = None,
    epochs: Annotated[int | None, typer.Option(help="Override training epochs.")] = None,
    clean_rows: Annotated[int, typer.Option(
        min=20, help="Rows of clean traffic (capped at the validation and test rows).")] = 200,
    drift_rows: Annotated[int, typer.Option(
        min=100, help="Rows of drifted traffic (30% become the retrain's fresh holdout).")
    ] = 400,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Run kiln's whole loop end to end: ship, serve, drift, detect, retrain, follow."""
    from kiln.demo import LoopSettings, run_loop, write_summary
    from kiln.examples import example
    from kiln.runs import kiln_home

    started = time.perf_counter()
    summary: dict[str, Any] = {"designs": _design_examples()}
    bp, data = _load(blueprint or example("breast_cancer_mlp.yaml"), epochs)
    folder = kiln_home() / "demo" / time.strftime("%Y%m%d-%H%M%S")
    settings = LoopSettings(clean_rows=clean_rows, drift_rows=drift_rows)
    result = run_loop(bp, folder=folder, data=data, settings=settings, on_step=_show_step)
    summary.update(result.to_dict())
    summary["wall_s"] = round(time.perf_counter() - started, 1)
    summary["summary_page"] = str(write_summary(summary, folder / "summary.html"))
    _print_summary(summary)
    if json_out:
        print_json(summary)


def _load(path: Path, epochs: int | None) -> tuple[Any, Any]:
    from kiln.blueprint import load_blueprint
    from kiln.cli.train_cmd import prepare_with_checks

    bp = load_blueprint(path)
    if epochs is not None:
        bp.training.epochs = epochs
    console.rule(f"[bold]2 · train {bp.name}")
    return bp, prepare_with_checks(bp, show=True)


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


def _show_step(step: str, value: Any) -> None:
    """Print each step's result as it lands, with the stage's own renderer."""
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
    else:
        _show_loop_step(step, value)


def _show_loop_step(step: str, value: Any) -> None:
    if step == "serve":
        console.rule("[bold]6 · serve the champion in a real kiln serve process")
        console.print(f"kiln serve {value['model']} --follow on {value['url']}")
    elif step == "clean":
        console.rule("[bold]7 · clean traffic")
        console.print(_traffic_line(value))
    elif step == "drift":
        console.rule("[bold]8 · inject drift: a new instrument")
        console.print(f"{', '.join(value['features'])} now read ×{value['scale']}")
    elif step == "detect":
        console.print(_traffic_line(value))
        for alert in value["alerts"][:5]:
            console.print(f"  [red]alert[/] {alert}")
        console.print(f"drift → first alert: [bold]{value['drift_to_alert_s']} s[/]")
    elif step == "labels":
        console.rule("[bold]9 · delayed labels through /feedback")
        console.print(f"{value['stored']} requests labelled · realised accuracy since the "
                      f"drift {_fmt(value['realised_accuracy'])} · estimated before labels "
                      f"{_fmt(value['estimated_accuracy'])}")
        console.rule("[bold]10 · kiln retrain: challenger, gate, promotion")
    elif step == "trigger":
        console.print(f"trigger: {value.kind} — {value.reason}")
    elif step == "gate":
        console.print(f"gate: {'[green]passed[/]' if value.passed else '[red]refused[/]'} — "
                      f"{value.reason}")
    elif step == "challenger_train":
        console.print(f"challenger trained: run {value.id} · test "
                      f"{_fmt(value.metrics.get('test', {}).get('accuracy'))}")
    elif step == "challenger_register":
        console.print(f"registered challenger: {value.name} version {value.version}")
    elif step == "promote":
        console.print(f"promoted version {value} to champion")
    elif step == "follow":
        console.rule("[bold]11 · the service follows the alias")
        console.print(f"serving version {value['version_before']} → "
                      f"[bold]{value['version_after']}[/]; drift → new champion serving: "
                      f"[bold]{value['drift_to_serving_s']} s[/]")


def _traffic_line(value: dict[str, Any]) -> str:
    drift = "[red]drift detected[/]" if value["drift_detected"] else "[green]no drift[/]"
    if value.get("drifted") and "alerts" not in value:
        drift += f" ({', '.join(value['drifted'])})"
    return (f"{value['rows']} rows in {value['requests']} requests · {value['rows_per_s']} "
            f"rows/s · accuracy {_fmt(value['accuracy'])} · {drift}")


def _fmt(value: Any) -> str:
    return "—" if value is None else f"{value:.4f}"


def _print_summary(summary: dict[str, Any]) -> None:
    console.rule("[bold]done")
    retrain = summary.get("retrain") or {}
    console.print(f"report: [bold]{summary['report']}[/]")
    console.print(f"bundle: [bold]{summary['bundle']}[/]  (registered as {summary['model']} "
                  f"version {summary['version']})")
    console.print(f"retrain: {retrain.get('decision')} — {retrain.get('reason')}")
    console.print(f"drift → first alert {summary.get('drift_to_alert_s')} s · drift → new "
                  f"champion serving {summary.get('drift_to_serving_s')} s")
    console.print(f"summary page: [bold]{summary['summary_page']}[/]")
    console.print(f"demo wall time: {summary['wall_s']} s")
