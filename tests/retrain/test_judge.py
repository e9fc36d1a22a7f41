"""Champion and challenger scored as bundles on the holdout: per-row outcomes equal what
`Bundle.predict` answers, for a regression head and a classification head."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bundle"))

from bundle_helpers import make_bundle, mixed_blueprint, mixed_frame

from kiln.blueprint.retrain_spec import GateSpec
from kiln.retrain.judge import judge, outcomes


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """A small bundle with a regression head (price) then a classification head (kind)."""
    return make_bundle(mixed_blueprint(), mixed_frame(80), tmp_path_factory.mktemp("j") / "m")


def test_regression_outcomes_are_the_errors(mixed: Any) -> None:
    holdout = mixed_frame(40, seed=5)
    errors = outcomes(mixed.path, holdout, mixed_blueprint())
    answers = _answers(mixed.path, holdout)
    expected = [a["price"]["value"] - p for a, p in zip(answers, holdout["price"], strict=True)]
    assert np.allclose(errors, expected, rtol=1e-5, atol=1e-4)


def test_classification_outcomes_are_right_or_wrong(mixed: Any) -> None:
    holdout = mixed_frame(40, seed=6)
    bp = mixed_blueprint()
    bp.task.targets = list(reversed(bp.task.targets))  # judge the classification head
    right = outcomes(mixed.path, holdout, bp)
    answers = _answers(mixed.path, holdout)
    expected = [a["kind"]["label"] == k for a, k in zip(answers, holdout["kind"], strict=True)]
    assert right.tolist() == [float(e) for e in expected]


def test_a_model_against_itself_shows_no_gain(mixed: Any) -> None:
    holdout = mixed_frame(40, seed=7)
    judged = judge(mixed.path, mixed.path, holdout, mixed_blueprint(), GateSpec(bootstrap=200))
    assert judged.metric == "mae" and judged.test.name == "paired_bootstrap"
    assert judged.test.improvement == 0.0 and judged.test.p_value == 1.0
    assert judged.champion == judged.challenger and judged.rows == 40


def _answers(path: Path, frame: Any) -> list[dict[str, Any]]:
    from kiln.bundle import load

    return load(path).predict(frame[["a", "b", "city", "note"]].to_dict("records"))
