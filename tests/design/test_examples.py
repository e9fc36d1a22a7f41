"""Every shipped example blueprint loads, builds and passes `kiln design` within its budgets
(torchtune's habit: each config is validated by a test). Search blueprints, with `tune:`
distributions, belong to `kiln tune` and are checked by its tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import kiln
from kiln.blueprint.load import find_distributions
from kiln.design import design

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BLUEPRINTS = sorted(p for p in EXAMPLES.glob("*.yaml")
                    if not find_distributions(yaml.safe_load(p.read_text())))


FOUNDATION = ("digits_cnn", "breast_cancer_mlp", "diabetes_regression", "multimodal_fusion",
              "custom_block", "whole_model")


@pytest.mark.parametrize("name", FOUNDATION)
def test_the_foundation_examples_state_budgets(name: str) -> None:
    budgets = kiln.load_blueprint(EXAMPLES / f"{name}.yaml").budgets
    assert budgets.max_params is not None and budgets.max_latency_ms is not None


@pytest.mark.parametrize("path", BLUEPRINTS, ids=lambda p: p.stem)
def test_example_designs_within_budget(path: Path) -> None:
    blueprint = kiln.load_blueprint(path)
    model = kiln.build_model(blueprint)
    assert model.output_names == [t.name for t in blueprint.task.targets]
    report = design(blueprint)
    assert report.ok, [b for b in report.budgets if not b.ok]
    assert report.params == sum(p.numel() for p in model.parameters())
    assert report.rows and report.flops > 0
    assert report.threads == (blueprint.training.threads or 1)

