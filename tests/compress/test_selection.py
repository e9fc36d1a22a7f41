"""The selection rule on synthetic variant tables: budgets, "never slower than fp32", ties."""

from __future__ import annotations

import pytest

from kiln.blueprint.schema import BudgetsSpec
from kiln.compress.selection import Variant, select_variant
from kiln.errors import BudgetError

REFERENCE = 0.95  # the PyTorch model's accuracy


def row(name: str, metric: float = REFERENCE, p50: float = 1.0, size: int = 1000,
        throughput: float = 1000.0) -> Variant:
    return Variant(name=name, path=f"variants/{name}/model.onnx", metric=metric,
                   delta=metric - REFERENCE, agreement=1.0, size_bytes=size,
                   latency_ms={"p50": p50, "p99": p50 * 2}, throughput_per_s=throughput,
                   threads=1)


def pick(variants: list[Variant], objective: str = "accuracy", reference: float = REFERENCE,
         **budgets: float) -> str:
    return select_variant(variants, BudgetsSpec(**budgets), reference, objective).selected


def test_fastest_within_budget_wins() -> None:
    table = [row("fp32", p50=1.0, size=4000), row("int8", p50=0.5, size=1000),
             row("pruned", p50=0.3, size=2000, metric=0.90)]
    assert pick(table, max_accuracy_drop=0.01) == "int8"  # pruned loses 5 points
    assert not table[2].selectable and "max_accuracy_drop" in table[2].note
    assert pick(table, max_accuracy_drop=0.1) == "pruned"


def test_slower_than_fp32_is_shown_but_never_selected() -> None:
    table = [row("fp32", p50=1.0, size=4000, throughput=5000),
             row("int8-dynamic", p50=0.8, size=1000, throughput=400),  # slow at batch 64
             row("int8", p50=1.5, size=1000)]
    selection = select_variant(table, BudgetsSpec(), REFERENCE, "accuracy")
    assert selection.selected == "fp32"
    assert "slower than fp32 at batch 64" in table[1].note
    assert "1.5× slower than fp32 at batch 1" in table[2].note
    assert "int8-dynamic" in selection.reason and "int8" in selection.reason
    # Even when only a slow variant fits the size budget, it is not chosen.
    with pytest.raises(BudgetError, match="as fast as fp32"):
        pick([row("fp32", size=4000), row("int8", p50=2.0, size=1000)], max_size_mb=0.002)


def test_tie_goes_to_the_smaller_file() -> None:
    table = [row("fp32", p50=1.00, size=4000), row("int8", p50=1.01, size=1000)]
    selection = select_variant(table, BudgetsSpec(), REFERENCE, "accuracy")
    assert selection.selected == "int8" and "smallest" in selection.reason


def test_budget_no_variant_meets_names_it_and_by_how_much() -> None:
    table = [row("fp32", p50=4.0, size=3_000_000), row("int8", p50=3.0, size=900_000)]
    with pytest.raises(BudgetError) as caught:
        pick(table, max_latency_ms=2.0)
    message = str(caught.value)
    assert "max_latency_ms" in message and "over by 1 ms (50%)" in message
    assert "int8" in message  # the best variant, the one closest to the budget
    assert caught.value.exit_code == 1
    with pytest.raises(BudgetError, match=r"max_size_mb: 0\.9 MB > 0\.5 MB"):
        pick(table, max_size_mb=0.5)
    with pytest.raises(BudgetError, match="max_accuracy_drop"):
        pick([row("fp32", metric=0.90)], max_accuracy_drop=0.01)


def test_default_accuracy_guard_and_lower_is_better_metrics() -> None:
    # No max_accuracy_drop: kiln's default (0.01) keeps a fast but broken variant out.
    table = [row("fp32", p50=1.0), row("distilled", p50=0.1, metric=0.5)]
    selection = select_variant(table, BudgetsSpec(), REFERENCE, "accuracy")
    assert selection.selected == "fp32" and "kiln's default" in selection.reason
    # log_loss: lower is better, so a *higher* value is the drop.
    table = [row("fp32", metric=0.30, p50=1.0), row("int8", metric=0.31, p50=0.5)]
    assert pick(table, "log_loss", 0.30, max_accuracy_drop=0.005) == "fp32"
    table = [row("fp32", metric=0.30, p50=1.0), row("int8", metric=0.29, p50=0.5)]
    assert pick(table, "log_loss", 0.30, max_accuracy_drop=0.005) == "int8"


def test_a_table_needs_the_fp32_baseline() -> None:
    with pytest.raises(ValueError, match="fp32"):
        pick([row("int8")])


def test_settings_from_blueprint_and_flags() -> None:
    from kiln.compress.settings import compress_settings
    from kiln.errors import BlueprintError

    spec = compress_settings({"prune": 0.3, "distill": {"alpha": 0.2}}, threads=4,
                             temperature=2.0, prune=None)
    assert spec.prune == 0.3 and spec.threads == 4  # a None flag leaves the blueprint's value
    assert spec.distill.alpha == 0.2 and spec.distill.temperature == 2.0
    with pytest.raises(BlueprintError, match=r"compress\.prune: 2"):
        compress_settings({"prune": 2})
    with pytest.raises(BlueprintError, match=r"compress\.shrink"):
        compress_settings({"shrink": True})
    with pytest.raises(BlueprintError, match=r"--prune 1\.5: Input should be less than 1"):
        compress_settings({}, prune=1.5)
    with pytest.raises(BlueprintError, match=r"--alpha 3"):
        compress_settings({}, alpha=3)
