"""The variants table and the rule that picks one variant under the blueprint's budgets.

Rule: a variant is *selectable* when it meets every budget (`max_accuracy_drop`,
`max_latency_ms`, `max_size_mb`) and is not slower than the fp32 ONNX model (p50 at batch 1
and throughput at batch 64, each by more than `SLOWER_MARGIN`). Among selectable variants the
fastest at batch 1 wins; variants that are not *decidedly* slower than another count as a
tie, and ties go by a fixed rule: the smallest file, then the simplest variant (`SIMPLER`).

"Decidedly" is what keeps the choice stable from one run to the next: timing noise must not
pick int8 in one run and fp32 in the next. Each variant carries per-round latencies (and
throughputs), and round k of every variant was timed over the same seconds
(`kiln.compress.timing`). Latencies are compared on each round's lower quartile of batch-1
call times: load only ever adds time to a call, so the lower quartile reads the model's own
cost more steadily than the median. A is faster than B only when A beats B by the margin in
so many of the rounds that a fair coin would do so at most 5% of the time (a one-sided sign
test: 7 of 7 rounds, 9 of 11). Otherwise the difference is within the measured noise and
it is a tie. The compress stage adds timing rounds while a comparison is still open
(`timings_decided`: a lead in at least half of the rounds, not yet decisive). Series of
different lengths (a table written by another measurement) are compared over every
(round of A, round of B) pair instead, and need 90% of them.
No selectable variant → `BudgetError` naming the budget and by how much the best variant
misses it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Any

from kiln.blueprint.schema import BudgetsSpec
from kiln.errors import BudgetError
from kiln.metrics import lower_is_better
from kiln.model.budgets import Costs, check_budgets

# The order budget misses are reported in (as before the checker was shared).
ORDER = ("max_accuracy_drop", "max_latency_ms", "max_size_mb")

BASELINE = "fp32"
SLOWER_MARGIN = 0.05  # timing noise on a busy CPU: 5% slower than fp32 still counts as equal
TIE_MARGIN = 0.03  # latencies this close are a tie; the smaller file wins
SIGNIFICANCE = 0.05  # a variant is faster when a coin would win as many rounds this rarely
DECISIVE = 0.9  # share of (unpaired) round pairs a variant must win instead
OPEN_FROM = 0.5  # a lead in this share of rounds or more, not yet decisive: time more
# Used when the blueprint sets no max_accuracy_drop, so that a fast but broken variant is
# never picked: 0.01 of a bounded metric (accuracy, f1, r2, ...), 1% of an unbounded one.
DEFAULT_MAX_DROP = 0.01
UNBOUNDED = {"log_loss", "mae", "mse", "rmse", "mape"}
# Tie-break after size: the variant with fewer moving parts (lower rank) wins.
SIMPLER = ("fp32", "int8-dynamic", "int8", "pruned", "distilled")  # builders order


@dataclass
class Variant:
    """One row of the variants table (`variants.json`); `path` is relative to the run dir."""

    name: str
    path: str
    metric: float
    delta: float
    agreement: float
    size_bytes: int
    latency_ms: dict[str, float]  # {"p50": ..., "p99": ...} at batch 1
    throughput_per_s: float  # rows per second at batch 64
    threads: int
    selectable: bool = True
    note: str = ""
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Variant:
        return cls(**data)


@dataclass
class Selection:
    selected: str
    reason: str


def accuracy_drop(metric: float, reference: float, objective: str) -> float:
    """How much worse `metric` is than `reference` (positive = worse), in metric units."""
    return metric - reference if lower_is_better(objective) else reference - metric


def drop_limit(budgets: BudgetsSpec, reference: float, objective: str) -> tuple[float, str]:
    """The allowed drop and where it comes from (the blueprint or kiln's default)."""
    if budgets.max_accuracy_drop is not None:
        return budgets.max_accuracy_drop, "budgets.max_accuracy_drop"
    if objective in UNBOUNDED:
        return abs(reference) * DEFAULT_MAX_DROP, "kiln's default (1% of the reference)"
    return DEFAULT_MAX_DROP, "kiln's default (no budgets.max_accuracy_drop)"


def budget_misses(v: Variant, budgets: BudgetsSpec, reference: float,
                  objective: str) -> dict[str, tuple[float, float, str]]:
    """Budget name → (value, limit, unit) for every budget `v` breaks."""
    limit, _ = drop_limit(budgets, reference, objective)
    drop = accuracy_drop(v.metric, reference, objective)
    costs = Costs(size_mb=v.size_bytes / 1e6, accuracy_drop=math.inf if math.isnan(drop) else drop,
                  latency_ms=v.details.get("budget_latency_ms", v.latency_ms["p50"]))
    misses = {c.name.split("@")[0]: (c.value, c.limit, c.unit)
              for c in check_budgets(budgets, costs, max_accuracy_drop=limit) if not c.ok}
    if "max_accuracy_drop" in misses and math.isnan(drop):
        misses["max_accuracy_drop"] = (drop, limit, "")
    return dict(sorted(misses.items(), key=lambda kv: ORDER.index(kv[0])))


def latency_rounds(v: Variant) -> list[float]:
    """The variant's per-round batch-1 latencies that selection compares: each round's
    lower quartile, else its p50 (tables written before kiln kept quartiles), else the
    table's p50 alone."""
    return list(v.details.get("p25_rounds_ms") or v.details.get("p50_rounds_ms")
                or [v.latency_ms["p50"]])


def throughput_rounds(v: Variant) -> list[float]:
    return list(v.details.get("throughput_rounds") or [v.throughput_per_s])


def wins(a: list[float], b: list[float], margin: float = TIE_MARGIN) -> tuple[int, int]:
    """In how many of the rounds `a` beats `b` by more than `margin`, and of how many.
    Rounds are paired (timed together); series of different lengths are compared over
    every (round of a, round of b) pair."""
    if len(a) == len(b):
        return sum(1 for x, y in zip(a, b, strict=True) if x * (1 + margin) < y), len(a)
    return sum(1 for x in a for y in b if x * (1 + margin) < y), len(a) * len(b)


def faster_share(a: list[float], b: list[float], margin: float = TIE_MARGIN) -> float:
    """The share of rounds in which a beats b by more than `margin` (see `wins`)."""
    won, of = wins(a, b, margin)
    return won / of


@lru_cache(maxsize=64)
def rounds_needed(n: int) -> int:
    """The fewest of `n` paired rounds a variant must win to be decidedly faster: as many
    as a fair coin wins at most `SIGNIFICANCE` of the time (one-sided sign test), or all
    `n` when even that is not so rare (fewer than 5 rounds; 1 round: the table's p50)."""
    from scipy.stats import binom

    return next((k for k in range(n + 1) if binom.sf(k - 1, n, 0.5) <= SIGNIFICANCE), n)


def decidedly_faster(a: list[float], b: list[float], margin: float = TIE_MARGIN) -> bool:
    """Latencies `a` beat `b` by more than `margin` in more rounds than chance explains:
    beyond the measured noise. A count of rounds, so one odd round cannot flip it, and
    more rounds make it surer rather than stricter."""
    won, of = wins(a, b, margin)
    if len(a) != len(b):
        return won / of >= DECISIVE
    return won >= rounds_needed(of)


def slower_than(v: Variant, base: Variant) -> str:
    """Why `v` is decidedly slower than `base`, or '' when it is not."""
    if decidedly_faster(latency_rounds(base), latency_rounds(v), SLOWER_MARGIN):
        ratio = v.latency_ms["p50"] / base.latency_ms["p50"]
        return f"{ratio:.1f}× slower than fp32 at batch 1"
    # throughput: higher is better, so compare the inverses (time per row)
    if decidedly_faster([1 / t for t in throughput_rounds(base)],
                        [1 / max(t, 1e-12) for t in throughput_rounds(v)], SLOWER_MARGIN):
        ratio = base.throughput_per_s / max(v.throughput_per_s, 1e-12)
        return f"{ratio:.1f}× slower than fp32 at batch 64"
    return ""


def timings_decided(latencies: dict[str, list[float]]) -> bool:
    """True when every pair of latency series is decided: one is decidedly faster, or
    neither wins even half of the rounds (a tie). A pair in between is open and asks
    for more rounds."""
    names = sorted(latencies)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            x, y = latencies[a], latencies[b]
            decided = decidedly_faster(x, y) or decidedly_faster(y, x)
            if not decided and max(faster_share(x, y), faster_share(y, x)) >= OPEN_FROM:
                return False
    return True


def _tie_rank(v: Variant) -> tuple[int, int, str]:
    simpler = SIMPLER.index(v.name) if v.name in SIMPLER else len(SIMPLER)
    return (v.size_bytes, simpler, v.name)


def select_variant(variants: list[Variant], budgets: BudgetsSpec, reference: float,
                   objective: str) -> Selection:
    """Mark each variant `selectable` (with a `note` when not) and pick one; see module doc.

    Raises `BudgetError` (exit code 1) when no variant is selectable.
    """
    base = next((v for v in variants if v.name == BASELINE), None)
    if base is None:
        raise ValueError(f"the variants table needs the {BASELINE!r} baseline")
    for v in variants:
        misses = budget_misses(v, budgets, reference, objective)
        slow = "" if v is base else slower_than(v, base)
        notes = [_describe_miss(name, *miss) for name, miss in misses.items()]
        notes += [slow] if slow else []
        v.selectable = not notes
        v.note = "; ".join(notes) if notes else v.note
    candidates = [v for v in variants if v.selectable]
    if not candidates:
        raise BudgetError(_no_variant_message(variants, budgets, reference, objective))
    tied = [v for v in candidates
            if not any(decidedly_faster(latency_rounds(o), latency_rounds(v)) for o in candidates)]
    best = min(tied, key=_tie_rank)
    return Selection(best.name, _reason(best, candidates, tied, variants, budgets, reference,
                                        objective))


def _describe_miss(name: str, value: float, limit: float, unit: str) -> str:
    over = value - limit
    pct = f" ({over / limit:.0%})" if limit > 0 else ""
    u = f" {unit}" if unit else ""
    return f"{name}: {value:.4g}{u} > {limit:.4g}{u}, over by {over:.3g}{u}{pct}"


def _reason(best: Variant, candidates: list[Variant], tied: list[Variant],
            variants: list[Variant], budgets: BudgetsSpec, reference: float,
            objective: str) -> str:
    _, source = drop_limit(budgets, reference, objective)
    parts = [f"{best.name}: the fastest at batch 1 (p50 {best.latency_ms['p50']:.4g} ms, "
             f"{best.threads} thread(s))"]
    if len(tied) > 1:
        parts.append(f"and the smallest of {len(tied)} tied within the measured noise or "
                     f"{TIE_MARGIN:.0%} ({best.size_bytes:,} bytes; ties go to the smaller, "
                     f"then the simpler variant)")
    parts.append(f"among {len(candidates)} of {len(variants)} variants within budget "
                 f"(accuracy drop limit from {source}) and not slower than fp32")
    rejected = [f"{v.name} ({v.note})" for v in variants if not v.selectable]
    if rejected:
        parts.append("not selectable: " + ", ".join(rejected))
    return "; ".join(parts)


def _no_variant_message(variants: list[Variant], budgets: BudgetsSpec, reference: float,
                        objective: str) -> str:
    """Name each budget that even the best variant misses, and by how much."""
    per_budget: dict[str, tuple[Variant, tuple[float, float, str]]] = {}
    for v in variants:
        for name, miss in budget_misses(v, budgets, reference, objective).items():
            held = per_budget.get(name)
            if held is None or miss[0] < held[1][0]:
                per_budget[name] = (v, miss)
    unmet = [name for name in per_budget
             if all(name in budget_misses(v, budgets, reference, objective) for v in variants)]
    if unmet:
        lines = [f"{_describe_miss(n, *per_budget[n][1])} even for the best variant "
                 f"({per_budget[n][0].name})" for n in unmet]
        return ("no variant meets the budgets — " + "; ".join(lines) +
                " — relax the budget in the blueprint, or try --prune / --distill")
    rows = ", ".join(f"{v.name}: {v.note}" for v in variants)
    return ("no variant meets every budget at once while being as fast as fp32 — " + rows +
            " — relax a budget, or try --prune / --distill")
