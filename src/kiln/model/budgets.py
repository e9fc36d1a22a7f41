"""The one budget checker: measured costs against the blueprint's `budgets:` section.

`kiln design` (the built model), `kiln tune` (each trial's model, before training) and
`kiln compress` (each variant, with its accuracy drop) all measure what they can and call
`check_budgets`; a budget whose cost was not measured is not checked. Torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass

from kiln.blueprint.schema import BudgetsSpec


@dataclass(frozen=True)
class Costs:
    """What was measured; None = not measured here."""

    params: float | None = None
    flops: float | None = None
    size_mb: float | None = None
    latency_ms: float | None = None  # at `budgets.latency_batch_size`
    accuracy_drop: float | None = None  # positive = worse than the reference


@dataclass
class BudgetCheck:
    """One budget and the measured value; `ok` when within it."""

    name: str
    limit: float
    value: float
    unit: str = ""

    @property
    def ok(self) -> bool:
        return self.value <= self.limit + 1e-12

    def describe(self) -> str:
        """`max_params: 120,000 > 100,000` — the miss, for messages."""
        value, limit = format_number(self.value), format_number(self.limit)
        return f"{self.name} {value}{self.unit} > {limit}{self.unit}"


def check_budgets(budgets: BudgetsSpec, costs: Costs, *,
                  max_accuracy_drop: float | None = None) -> list[BudgetCheck]:
    """A check per budget that is set and whose cost was measured, in a fixed order.

    `max_accuracy_drop` overrides the blueprint's (compression's default when it has none).
    """
    drop_limit = max_accuracy_drop if max_accuracy_drop is not None \
        else budgets.max_accuracy_drop
    latency_name = ("max_latency_ms" if budgets.latency_batch_size == 1
                    else f"max_latency_ms@batch{budgets.latency_batch_size}")
    candidates = [
        ("max_params", budgets.max_params, costs.params, ""),
        ("max_flops", budgets.max_flops, costs.flops, ""),
        ("max_size_mb", budgets.max_size_mb, costs.size_mb, "MB"),
        (latency_name, budgets.max_latency_ms, costs.latency_ms, "ms"),
        ("max_accuracy_drop", drop_limit, costs.accuracy_drop, ""),
    ]
    return [BudgetCheck(name, float(limit), float(value), unit)
            for name, limit, value, unit in candidates
            if limit is not None and value is not None]


def format_number(value: float) -> str:
    """An integer with thousands separators, else four significant digits."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.4g}"
