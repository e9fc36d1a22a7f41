"""`kiln design`: blueprint → layer table, totals, measured latency and the budget verdict."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kiln.blueprint.schema import Blueprint
from kiln.model.budgets import BudgetCheck, Costs
from kiln.model.budgets import check_budgets as check_costs
from kiln.model.signature import Signature

LARGE_BATCH = 64  # the "throughput" batch reported beside batch 1


@dataclass
class DesignRow:
    path: str
    type: str
    out_shape: tuple[int, ...]
    params: int
    flops: int
    depth: int = 0
    default: bool = False


@dataclass
class DesignReport:
    """What `kiln design` reports; `to_dict()` is the `--json` object."""

    name: str
    rows: list[DesignRow]
    params: int
    trainable_params: int
    flops: int  # per sample (a batch of one)
    latency_ms: dict[int, float]  # batch size → median ms
    threads: int
    budgets: list[BudgetCheck] = field(default_factory=list)
    signature: Signature | None = None
    size_mb: float = 0.0  # float32 parameters and buffers: the weights file, roughly
    members: int = 1  # training.bagging: the rows are one member's, the totals all members'

    @property
    def ok(self) -> bool:
        return all(b.ok for b in self.budgets)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "layers": [{"path": r.path, "type": r.type, "output_shape": ["N", *r.out_shape],
                        "params": r.params, "flops": r.flops} for r in self.rows],
            "params": self.params,
            "trainable_params": self.trainable_params,
            "flops": self.flops,
            "latency_ms": {str(k): round(v, 4) for k, v in self.latency_ms.items()},
            "threads": self.threads,
            "size_mb": round(self.size_mb, 4),
            "members": self.members,
            "budgets": [{"name": b.name, "limit": b.limit, "value": b.value, "ok": b.ok}
                        for b in self.budgets],
            "ok": self.ok,
            "signature": self.signature.to_dict() if self.signature else None,
        }


def design(blueprint: Blueprint, signature: Signature | None = None, *,
           measure: bool = True, threads: int | None = None) -> DesignReport:
    """Build the blueprint's model and measure it: per-block output shape, parameters and
    FLOPs, total latency at batch 1 and at the budget's/large batch, and budget checks.

    Latency is measured with `threads` CPU threads (default: `training.threads`, else 1 —
    see `measure_latency` for why).
    `signature` defaults to what the blueprint declares, or, when that is not enough (no
    features declared, a vocabulary or the classes unknown), to what its data says.
    Raises the builder's errors (`ShapeError`, `BlueprintError`, `PluginError`).
    """

    from kiln.model.builder import build_model
    from kiln.model.measure import (
        count_params,
        example_batch,
        flops_by_module,
        measure_latency,
    )

    signature = signature or design_signature(blueprint)
    model = build_model(blueprint, signature)
    flops = flops_by_module(model, example_batch(signature, 1))
    rows = [DesignRow(r.path, r.type, r.out_shape, count_params(r.module),
                      flops.get(id(r.module), 0), r.depth, r.default)
            for r in model.layer_rows]
    budgets = blueprint.budgets
    batches = sorted({1, budgets.latency_batch_size, LARGE_BATCH})
    threads = threads or blueprint.training.threads or 1
    latency = ({b: measure_latency(model, example_batch(signature, b), threads=threads)
                for b in batches} if measure else {})
    params = count_params(model)
    report = DesignReport(
        name=blueprint.name,
        rows=rows,
        params=params,
        trainable_params=sum(p.numel() for p in model.parameters() if p.requires_grad),
        flops=flops[-1],
        latency_ms=latency,
        threads=threads,
        signature=signature,
        size_mb=sum(t.numel() * t.element_size() for t in model.state_dict().values()) / 1e6,
        members=blueprint.training.bagging,
    )
    report.budgets = check_budgets(blueprint, report)
    return report


def design_signature(blueprint: Blueprint) -> Signature:
    """The declared signature when the blueprint declares enough; else the data's (the
    source is loaded and preprocessing fitted, as training would)."""
    from kiln.errors import BlueprintError
    from kiln.model.signature import declared_signature

    try:
        signature = declared_signature(blueprint)
    except BlueprintError:
        signature = None
    if signature is None or any(i.kind == "category" and i.vocab_size is None
                                for i in signature.inputs):
        from kiln.data import prepare_data

        signature = prepare_data(blueprint).signature
    return signature


def check_budgets(blueprint: Blueprint, report: DesignReport) -> list[BudgetCheck]:
    b = blueprint.budgets
    latency = report.latency_ms.get(b.latency_batch_size)
    return check_costs(b, Costs(params=report.params, flops=report.flops,
                                size_mb=report.size_mb,
                                latency_ms=round(latency, 4) if latency is not None else None))
