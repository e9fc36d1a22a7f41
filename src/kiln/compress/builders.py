"""Each compression method as a builder that writes one variant's files.

A builder receives the context of the run being compressed and writes
`<run dir>/variants/<name>/model.onnx` (plus its own files); it returns the extra details
that go into the variant's row. Methods register by name with `@method(name, wanted=...)`,
in the order the variants table shows them; adding one is one function and one decorator,
and `tests/compress/test_method_conformance.py` runs every registered method.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.compress.compact import compact_file
from kiln.compress.onnx_export import (
    REGRESSION_AGREEMENT_TOL,
    agreement,
    check_parity,
    ort_session,
    run_onnx,
    run_torch,
)
from kiln.model.onnx_export import export_onnx

if TYPE_CHECKING:
    from torch import nn

    from kiln.compress.settings import CompressSpec
    from kiln.data.prepared import PreparedData
    from kiln.runs import Run


@dataclass
class Context:
    """What every builder may read: the run, its model and data, the settings."""

    run: Run
    model: nn.Module
    data: PreparedData
    spec: CompressSpec
    tracking: bool = True
    # Where the files are built: a staging folder that replaces `variants/` at the end.
    staging: str = "variants"

    @property
    def root(self) -> Path:
        return self.run.dir / self.staging

    def target(self, name: str) -> Path:
        return self.root / name / FILENAMES.get(name, "model.onnx")


# The model file of each variant: ONNX, except the edge variant's ExecuTorch program.
FILENAMES = {"executorch": "model.pte"}

Builder = Callable[[Context, Path], dict[str, Any]]
Wanted = Callable[["CompressSpec"], bool]

# name → (builder, wanted?) in table order, filled by `@method`.
BUILDERS: dict[str, tuple[Builder, Wanted]] = {}


def method(name: str, *, wanted: Wanted = lambda spec: True) -> Callable[[Builder], Builder]:
    """Register a compression method: `wanted(spec)` says whether this compress builds it."""
    def register(builder: Builder) -> Builder:
        if name in BUILDERS:
            raise ValueError(f"compression method {name!r} is already registered")
        BUILDERS[name] = (builder, wanted)
        return builder

    return register


def export_checked(model: nn.Module, ctx: Context, path: Path) -> dict[str, Any]:
    """Fold BatchNorm, export, compact, and check parity on the test split against the
    unfolded model (raises `ParityError`)."""
    from kiln.compress.fold import fold_batchnorm

    folded, count = fold_batchnorm(model, ctx.run.signature)
    export_onnx(folded, ctx.run.signature, path)
    compact_file(path)
    rows = ctx.data.test if len(ctx.data.test) else ctx.data.val
    parity = check_parity(model, path, rows.inputs, signature=ctx.run.signature)
    return {"parity": parity.to_dict(), "batchnorm_folded": count}


@method("fp32")
def build_fp32(ctx: Context, path: Path) -> dict[str, Any]:
    return export_checked(ctx.model, ctx, path)


# Needs no data, but is often slow for convolutions.
@method("int8-dynamic")
def build_dynamic(ctx: Context, path: Path) -> dict[str, Any]:
    from kiln.compress.quantize import quantize_dynamic_int8

    quantize_dynamic_int8(ctx.target("fp32"), path)
    compact_file(path)
    return {"method": "ONNX Runtime dynamic int8 (int8 weights, activations at run time)"}


# The static QDQ model: the int8 variant to ship.
@method("int8")
def build_static(ctx: Context, path: Path) -> dict[str, Any]:
    """Static QDQ int8; with per_channel=auto both scalings are built and the one agreeing
    better with PyTorch on the validation split is kept (per tensor on a tie: smaller)."""
    from kiln.compress.quantize import quantize_static_int8

    source, train = ctx.target("fp32"), ctx.data.train.inputs
    rows = ctx.spec.calibration_rows
    choices = [ctx.spec.per_channel] if isinstance(ctx.spec.per_channel, bool) else [False, True]
    scores: dict[bool, float] = {}
    for per_channel in choices:
        out = path.with_name(f"per_channel_{per_channel}.onnx")
        quantize_static_int8(source, out, train, per_channel=per_channel, rows=rows,
                             seed=ctx.run.blueprint.seed)
        compact_file(out)
        scores[per_channel] = _agreement_on_val(ctx, out)
    best = max(choices, key=lambda pc: (scores[pc], not pc))
    path.parent.joinpath(f"per_channel_{best}.onnx").replace(path)
    for other in choices:
        path.with_name(f"per_channel_{other}.onnx").unlink(missing_ok=True)
    return {"method": "ONNX Runtime static int8 QDQ (MinMax calibration)",
            "per_channel": best, "calibration_rows": min(rows, len(ctx.data.train)),
            "val_agreement": {str(k).lower(): v for k, v in scores.items()}}


def _agreement_on_val(ctx: Context, path: Path) -> float:
    split = ctx.data.val if len(ctx.data.val) else ctx.data.train
    names = ctx.run.signature.input_names
    got = run_onnx(ort_session(path, 1), split.inputs)
    want = run_torch(ctx.model, split.inputs, names)
    return min(agreement(got[o.name], w, o.type, REGRESSION_AGREEMENT_TOL)
               for o, w in zip(ctx.run.signature.outputs, want, strict=True))


@method("pruned", wanted=lambda spec: spec.prune is not None)
def build_pruned(ctx: Context, path: Path) -> dict[str, Any]:
    """Structured pruning of a copy of the model, a short fine-tune, safetensors + ONNX."""
    from kiln.compress.prune import prune_model, save_pruned

    assert ctx.spec.prune is not None
    model = copy.deepcopy(ctx.model)
    report = prune_model(model, ctx.run.signature, ctx.spec.prune)
    history = finetune(model, ctx)
    save_pruned(model, report, path.parent)
    details = export_checked(model, ctx, path)
    return {**details, **report.to_dict(), "finetune_epochs": len(history),
            "finetune_val": history[-1]["val"] if history else {}}


def finetune(model: nn.Module, ctx: Context) -> list[dict[str, Any]]:
    """A few epochs of the run's own training loop at a reduced learning rate; the best
    validation epoch's weights are kept. Returns the loop's history."""
    from kiln.train.loop import Loop
    from kiln.train.session import training_context

    bp = ctx.run.blueprint.model_copy(deep=True)
    bp.training.epochs = ctx.spec.finetune_epochs
    bp.training.lr = bp.training.lr * ctx.spec.finetune_lr_scale
    bp.training.early_stopping.patience = None
    with training_context(bp):
        result = Loop(model, ctx.data, bp).run()
    model.cpu().eval()
    return result.history


@method("distilled", wanted=lambda spec: spec.distill.student is not None)
def build_distilled(ctx: Context, path: Path) -> dict[str, Any]:
    """Train the student blueprint against the run's model; export the student."""
    from kiln.compress.distill import load_student, train_student
    from kiln.model.measure import count_params

    spec = ctx.spec.distill
    assert spec.student is not None
    student_bp = load_student(spec.student, ctx.run)
    student_run = train_student(student_bp, ctx.run, spec, ctx.data, tracking=ctx.tracking)
    student = student_run.load_model()
    details = export_checked(student, ctx, path)
    return {**details, "student_run": student_run.id, "student_blueprint": str(spec.student),
            "alpha": spec.alpha, "temperature": spec.temperature,
            "params": count_params(student), "teacher_params": count_params(ctx.model)}




def raw_outputs(ctx: Context, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The run's PyTorch model on `inputs`: the reference every variant is compared with."""
    names = ctx.run.signature.input_names
    outs = run_torch(ctx.model, inputs, names)
    return dict(zip(ctx.run.signature.output_names, outs, strict=True))
