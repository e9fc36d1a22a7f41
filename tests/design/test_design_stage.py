"""The design stage as a function: totals, budgets of every kind, measurement threads."""

from __future__ import annotations

from typing import Any

import pytest
import torch

import kiln
from kiln.design import design

BLUEPRINT: dict[str, Any] = {
    "name": "tiny",
    "task": {"type": "regression", "target": "y"},
    "data": {"source": "t.csv", "features": [{"name": "a", "type": "numeric"},
                                             {"name": "b", "type": "numeric"}]},
    "architecture": {"trunk": [{"linear": {"units": 8}}, "relu"]},
}
PARAMS = 2 * 8 + 8 + 8 + 1  # trunk linear + head
FLOPS = 2 * (2 * 8 + 8 * 1)  # a multiply-add counts 2


def blueprint(**budgets: Any) -> kiln.Blueprint:
    return kiln.load_blueprint({**BLUEPRINT, "budgets": budgets})


def test_totals_and_rows() -> None:
    report = design(blueprint(), measure=False)
    assert report.params == report.trainable_params == PARAMS
    assert report.flops == FLOPS
    assert report.size_mb == pytest.approx(PARAMS * 4 / 1e6)
    assert [(r.path, r.out_shape) for r in report.rows] == [
        ("architecture.combiner", (2,)), ("architecture.trunk[0]", (8,)),
        ("architecture.trunk[1]", (8,)), ("architecture.heads.y.output", (1,))]
    assert report.latency_ms == {} and report.ok


@pytest.mark.parametrize(("budgets", "ok"), [
    ({"max_params": PARAMS}, True),
    ({"max_params": PARAMS - 1}, False),
    ({"max_flops": FLOPS - 1}, False),
    ({"max_size_mb": 0.0001}, False),
    ({"max_size_mb": 0.001}, True),
])
def test_budgets(budgets: dict[str, Any], ok: bool) -> None:
    report = design(blueprint(**budgets), measure=False)
    assert report.ok is ok
    assert [b.name for b in report.budgets] == list(budgets)


def test_latency_is_measured_with_one_thread_by_default() -> None:
    before = torch.get_num_threads()
    report = design(blueprint(max_latency_ms=1000, latency_batch_size=8))
    assert set(report.latency_ms) == {1, 8, 64}
    assert report.threads == 1 and torch.get_num_threads() == before
    assert [b.name for b in report.budgets] == ["max_latency_ms@batch8"] and report.ok
    assert design(blueprint(), threads=2).threads == 2
    assert torch.get_num_threads() == before


def test_design_reads_the_data_when_the_blueprint_declares_no_features() -> None:
    """Without declared features (or classes) the shapes come from the data, as training
    would see them: iris gives a 4-wide tabular input and a 3-class head."""
    from kiln.blueprint import load_blueprint
    from kiln.design import design

    bp = load_blueprint({"name": "iris", "task": {"type": "classification", "target": "label"},
                         "data": {"source": "sklearn:iris"},
                         "architecture": {"trunk": [{"linear": {"units": 8}}, "relu"]}})
    report = design(bp, measure=False)
    assert report.signature is not None
    assert report.signature.inputs[0].shape == (4,)
    assert report.rows[-1].out_shape == (3,)
    assert report.params == 4 * 8 + 8 + 8 * 3 + 3
