"""`kiln compress`: build and measure the variants of a run, pick one under the budgets."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kiln.cli.app import JSON_HELP, app, console, print_json

if TYPE_CHECKING:
    from kiln.compress import CompressionResult


@app.command()
def compress(
    run_id: Annotated[str, typer.Argument(help="Run id (a unique prefix or `latest` works).")],
    prune: Annotated[float | None, typer.Option(
        help="Structured pruning ratio, e.g. 0.5 removes half of the channels.")] = None,
    distill: Annotated[Path | None, typer.Option(
        help="Student blueprint to distil the run's model into.")] = None,
    alpha: Annotated[float | None, typer.Option(
        help="Distillation: weight of the soft-target loss (default 0.5).")] = None,
    temperature: Annotated[float | None, typer.Option(
        help="Distillation: softening temperature (default 4).")] = None,
    threads: Annotated[int | None, typer.Option(
        help="Intra-op threads for every timing, ONNX Runtime and PyTorch (default 1).")] = None,
    executorch: Annotated[bool, typer.Option(
        "--executorch", help="Also build the ExecuTorch .pte edge variant (XNNPACK; needs "
        "kiln[edge]); measured, never selected.")] = False,
    json_out: Annotated[bool, typer.Option("--json", help=JSON_HELP)] = False,
) -> None:
    """Export the run to ONNX (parity-checked), quantize it to int8 (dynamic and static),
    optionally prune and distil it; measure each variant's test metric, agreement, size,
    latency and throughput; select the best one under the blueprint's budgets. Exit code 1
    when no variant meets the budgets."""
    from kiln.compress import compress as run_compress
    from kiln.compress import load_variants
    from kiln.errors import BudgetError

    try:
        with console.status("compressing: export, quantize, prune, distil, measure…"):
            result = run_compress(run_id, prune=prune, distill=distill, threads=threads,
                                  alpha=alpha, temperature=temperature,
                                  executorch=executorch or None)  # absent: the blueprint's
    except BudgetError as exc:
        result = load_variants(run_id)
        render(result)
        exc.details = result.to_dict()
        raise exc from None  # one error line (or JSON line) from kiln.cli.main
    render(result)
    if json_out:
        print_json(result.to_dict())


def render(result: CompressionResult) -> None:
    from rich import box
    from rich.table import Table

    ref = result.reference
    console.print(f"[bold]compress · {result.run_id}[/] · {result.objective} on the "
                  f"{ref['split']} split ({ref['rows']} rows) · ONNX Runtime and PyTorch at "
                  f"{ref['threads']} thread(s)")
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0, 0, 1))
    for column in ("variant", result.objective[:8], "Δ", "agree", "size", "p50 ms", "p99 ms",
                   "/s @64", "×eager"):
        table.add_column(column, justify="left" if column in ("variant", "") else "right",
                         no_wrap=True)
    eager = ref["latency_ms"]["p50"]
    table.add_row("[dim]pytorch[/]", f"{ref['metric']:.4f}", "", "", _size(ref["size_bytes"]),
                  _ms(eager), _ms(ref['latency_ms']['p99']),
                  _count(ref["throughput_per_s"]), "1.0")
    for v in result.variants:
        name = f"[bold green]{v.name}[/]" if v.name == result.selected else (
            v.name if v.selectable else f"[yellow]{v.name}[/]")
        table.add_row(name, f"{v.metric:.4f}", f"{v.delta:+.3f}", f"{v.agreement:.1%}",
                      _size(v.size_bytes), _ms(v.latency_ms['p50']),
                      _ms(v.latency_ms['p99']), _count(v.throughput_per_s),
                      f"{eager / v.latency_ms['p50']:.1f}")
    console.print(table)
    for v in result.variants:
        if not v.selectable:
            console.print(f"[yellow]not selectable[/] {v.name}: {v.note}")
    for name, why in result.settings.get("skipped", {}).items():
        console.print(f"[yellow]skipped[/] {name}: {why}")
    if result.selected:
        console.print(f"[bold green]selected {result.selected}[/] — {result.reason}")
        console.print(f"[dim]variants in {result.run_dir / 'variants'}[/]")


def _size(size: int) -> str:
    return f"{size / 1e6:.1f}MB" if size >= 1e6 else f"{size / 1e3:.0f}kB"


def _count(n: float) -> str:
    for unit, scale in (("M", 1e6), ("k", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return f"{n:.0f}"


def _ms(ms: float) -> str:
    return f"{ms:.4f}" if ms < 1 else f"{ms:.3g}"
