"""`compress(run) -> CompressionResult`: build the variants, measure each, pick one.

setup (load the run, its model and data) → build each variant's files (builders.py) →
measure every variant the same way (test metric through ONNX Runtime + the run's
preprocessing, agreement with PyTorch, size, latency, throughput at one thread count) →
select under the budgets (selection.py) → write `variants/variants.json` atomically.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.compress.builders import BUILDERS, Context, raw_outputs
from kiln.compress.onnx_export import (
    REGRESSION_AGREEMENT_TOL,
    agreement,
    ort_session,
    run_onnx,
)
from kiln.compress.selection import Selection, Variant, select_variant, timings_decided
from kiln.compress.settings import CompressSpec, compress_settings
from kiln.compress.timing import (
    DEFAULT_THREADS,
    Timer,
    Timing,
    measure_all,
    onnx_timer,
    torch_timer,
)
from kiln.errors import BudgetError
from kiln.files import atomic_write_bytes, swap_in

if TYPE_CHECKING:
    from kiln.data.prepared import Split
    from kiln.runs import Run

VARIANTS_DIR = "variants"
VARIANTS_FILE = "variants.json"
STAGING = ".variants-staging"
FORMAT_VERSION = 1
REFERENCE = "pytorch"
BUDGET_BATCH = "at-budget-batch:"


@dataclass
class CompressionResult:
    """The variants table of one run; `to_dict()` is `variants.json` and `--json`."""

    run_id: str
    run_dir: Path
    objective: str
    reference: dict[str, Any]
    variants: list[Variant]
    selected: str | None
    reason: str
    budget_error: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(name)

    def path(self, name: str) -> Path:
        return self.run_dir / self.variant(name).path

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT_VERSION, "run_id": self.run_id, "objective": self.objective,
                "reference": self.reference, "variants": [v.to_dict() for v in self.variants],
                "selected": self.selected, "reason": self.reason,
                "budget_error": self.budget_error, "settings": self.settings}


def compress(run: Run | str | Path, *, prune: float | None = None,
             distill: str | Path | None = None, threads: int | None = None,
             alpha: float | None = None, temperature: float | None = None,
             tracking: bool = True, timing_budget_s: float | None = None,
             executorch: bool | None = None) -> CompressionResult:
    """Build and measure every variant of `run`; select one under the blueprint's budgets.

    prune: structured pruning ratio; distill: a student blueprint; threads: intra-op threads
    for every timing (default: `compress.threads` or 1). Each overrides the blueprint's
    `compress:` section; executorch: also build the ExecuTorch edge variant (skipped, with
    the reason in `settings.skipped`, when executorch is not installed). `variants.json`
    is written even when no variant meets the budgets; then `BudgetError` is raised (exit
    code 1). Raises `RunError` for an unknown run,
    `BlueprintError` for a bad student, `ParityError` when an export is unfaithful.
    """
    from kiln.runs import load_run

    run = run if not isinstance(run, (str, Path)) else load_run(run)
    spec = compress_settings(run.blueprint.compress, prune=prune, threads=threads,
                             student=str(distill) if distill is not None else None,
                             alpha=alpha, temperature=temperature,
                             timing_budget_s=timing_budget_s, executorch=executorch)
    ctx = Context(run, run.load_model(), run.data(), spec, tracking, staging=STAGING)
    shutil.rmtree(ctx.root, ignore_errors=True)  # left over by a killed compress
    try:
        details = build_all(ctx)
        result = measure_variants(ctx, details)
        atomic_write_bytes(ctx.root / VARIANTS_FILE,
                           json.dumps(result.to_dict(), indent=2, default=str).encode())
        publish(ctx.root, run.dir / VARIANTS_DIR)
    finally:
        shutil.rmtree(ctx.root, ignore_errors=True)
    if result.budget_error:
        raise BudgetError(result.budget_error)
    return result


def publish(staging: Path, final: Path) -> None:
    """Replace `final` with the complete `staging` folder: a failed compress leaves the
    previous variants untouched, a finished one never mixes files of two runs."""
    swap_in(staging, final)


def build_all(ctx: Context) -> dict[str, dict[str, Any]]:
    details: dict[str, dict[str, Any]] = {}
    for name, (builder, wanted) in BUILDERS.items():
        if wanted(ctx.spec):
            path = ctx.target(name)
            path.parent.mkdir(parents=True, exist_ok=True)
            details[name] = builder(ctx, path)
    if ctx.spec.executorch:
        details.update(build_edge(ctx))
    return details


def build_edge(ctx: Context) -> dict[str, dict[str, Any]]:
    """The ExecuTorch variant's files and details, or `{"skipped": why}` without executorch."""
    from kiln.compress.edge import (
        NAME,
        ExecuTorchMissing,
        check_pte_parity,
        export_pte,
        require_executorch,
    )

    try:
        require_executorch()
    except ExecuTorchMissing as exc:
        return {NAME: {"skipped": str(exc)}}
    path = ctx.target(NAME)
    path.parent.mkdir(parents=True, exist_ok=True)
    details = export_pte(ctx.model, ctx.run.signature, ctx.data.train.inputs, path)
    rows = ctx.data.test if len(ctx.data.test) else ctx.data.val
    details["parity"] = check_pte_parity(ctx.model, path, rows.inputs, ctx.run.signature)
    return {NAME: details}


def measure_variants(ctx: Context, details: dict[str, dict[str, Any]]) -> CompressionResult:
    run, spec = ctx.run, ctx.spec
    threads = spec.threads or DEFAULT_THREADS
    skipped = {name: info.pop("skipped") for name, info in list(details.items())
               if "skipped" in info}
    details = {name: info for name, info in details.items() if name not in skipped}
    split = ctx.data.test if len(ctx.data.test) else ctx.data.val
    objective = run.blueprint.task.objective or ""
    reference_raw = raw_outputs(ctx, split.inputs)
    ref_metrics = score_raw(ctx, split, reference_raw)
    timings = time_everything(ctx, list(details), split, threads)
    reference = {"name": "pytorch", "metric": ref_metrics["objective"],
                 "metrics": ref_metrics, **timings.pop(REFERENCE).to_dict(),
                 "size_bytes": _size(run.dir / "weights.safetensors"),
                 "split": "test" if len(ctx.data.test) else "val", "rows": len(split)}
    variants = [measure_variant(ctx, name, info, split, reference_raw, ref_metrics,
                                timings, threads)
                for name, info in details.items()]
    budget_error = None
    bundled = [v for v in variants if v.path.endswith(".onnx")]  # what a bundle can ship
    try:
        selection = select_variant(bundled, run.blueprint.budgets, ref_metrics["objective"],
                                   objective)
    except BudgetError as exc:
        selection, budget_error = Selection("", str(exc)), str(exc)
    for v in variants:
        if v not in bundled:
            from kiln.compress.edge import NOTE

            v.selectable, v.note = False, NOTE
    return CompressionResult(run.id, run.dir, objective, reference, variants,
                             selection.selected or None, selection.reason, budget_error,
                             {**spec.model_dump(), "threads": threads, "skipped": skipped})


def time_everything(ctx: Context, names: list[str], split: Split,
                    threads: int) -> dict[str, Timing]:
    """Eager PyTorch and every variant, in interleaved rounds at one thread count; plus,
    when the latency budget is set at another batch size, each variant at that size."""
    timers = {REFERENCE: torch_timer(ctx.model, split.inputs, ctx.run.signature.input_names,
                                     threads)}
    timers.update({name: variant_timer(ctx, name, split, threads) for name in names})
    budget_s = ctx.spec.timing_budget_s
    timings = measure_all(timers, budget_s, decided=lambda t: timings_decided(
        {name: t[name].p25_rounds_ms for name in names}))
    budgets = ctx.run.blueprint.budgets
    if budgets.max_latency_ms is not None and budgets.latency_batch_size != 1:
        at_batch = {f"{BUDGET_BATCH}{name}": onnx_timer(ctx.target(name), split.inputs,
                                                       threads, budgets.latency_batch_size)
                    for name in names if ctx.target(name).suffix == ".onnx"}
        timings.update(measure_all(at_batch, budget_s / 2))
    return timings


def measure_variant(ctx: Context, name: str, info: dict[str, Any], split: Split,
                    reference_raw: dict[str, np.ndarray], ref_metrics: dict[str, float],
                    timings: dict[str, Timing], threads: int) -> Variant:
    path = ctx.target(name)
    raw = variant_outputs(ctx, path, split, threads)
    metrics = score_raw(ctx, split, raw)
    agree = min(agreement(raw[o.name], reference_raw[o.name], o.type, REGRESSION_AGREEMENT_TOL)
                for o in ctx.run.signature.outputs)
    timing = timings[name]
    at_budget = timings.get(f"{BUDGET_BATCH}{name}")
    if at_budget is not None:  # median call time at the budget's batch size
        batch = ctx.run.blueprint.budgets.latency_batch_size
        info["budget_latency_ms"] = batch * 1000 / at_budget.throughput_per_s
    info["p50_rounds_ms"], info["p25_rounds_ms"] = timing.p50_rounds_ms, timing.p25_rounds_ms
    info["throughput_rounds"] = timing.throughput_rounds
    info["files"] = sorted(p.name for p in path.parent.iterdir() if p.is_file())
    info["metrics"] = metrics
    return Variant(name=name, path=f"{VARIANTS_DIR}/{name}/{path.name}",
                   metric=metrics["objective"],
                   delta=metrics["objective"] - ref_metrics["objective"], agreement=agree,
                   size_bytes=_size(path), latency_ms={"p50": timing.p50_ms,
                                                       "p99": timing.p99_ms},
                   throughput_per_s=timing.throughput_per_s, threads=threads, details=info)


def variant_timer(ctx: Context, name: str, split: Split, threads: int) -> Timer:
    path = ctx.target(name)
    if path.suffix == ".pte":
        from kiln.compress.edge import pte_timer

        return pte_timer(path, split.inputs, ctx.run.signature, threads)
    return onnx_timer(path, split.inputs, threads)


def variant_outputs(ctx: Context, path: Path, split: Split,
                    threads: int) -> dict[str, np.ndarray]:
    """Raw outputs of a variant's model on `split`: ONNX Runtime, or ExecuTorch's runtime."""
    if path.suffix == ".pte":
        from kiln.compress.edge import pte_outputs

        return pte_outputs(path, split.inputs, ctx.run.signature)
    return run_onnx(ort_session(path, threads), split.inputs)


def score_raw(ctx: Context, split: Split, raw: dict[str, np.ndarray]) -> dict[str, float]:
    """The task's metrics from raw outputs, through the run's own preprocessing decode."""
    from kiln.train.inference import score_raw as score

    run = ctx.run
    return score(raw, split.targets, run.preprocessor, run.signature, run.blueprint.task)


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


def load_variants(run: Run | str | Path) -> CompressionResult:
    """Read `variants/variants.json` of a compressed run (for `kiln export`)."""
    from kiln.errors import RunError
    from kiln.files import read_json
    from kiln.runs import load_run

    run = run if not isinstance(run, (str, Path)) else load_run(run)
    path = run.dir / VARIANTS_DIR / VARIANTS_FILE
    if not path.exists():
        raise RunError(f"run {run.id} has no variants yet — run `kiln compress {run.id}` first")
    data = read_json(path)
    return CompressionResult(data["run_id"], run.dir, data["objective"], data["reference"],
                             [Variant.from_dict(v) for v in data["variants"]],
                             data["selected"], data["reason"], data.get("budget_error"),
                             data.get("settings", {}))


__all__ = ["CompressSpec", "CompressionResult", "compress", "load_variants"]
