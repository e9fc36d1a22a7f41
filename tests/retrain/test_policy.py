"""The retrain policy: the blueprint section and a separate policy file."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiln.blueprint.retrain_spec import RetrainSpec, duration_seconds
from kiln.errors import BlueprintError
from kiln.retrain import load_policy


def test_defaults_without_file_or_blueprint() -> None:
    assert load_policy(None) == RetrainSpec()


@pytest.mark.parametrize("nested", [True, False])
def test_policy_file_at_top_level_or_under_retrain(tmp_path: Path, nested: bool) -> None:
    body = "triggers: {accuracy_below: 0.9, every: 7d}\ngate: {min_improvement: 0.01}\n"
    if nested:
        body = "retrain:\n" + "".join(f"  {line}\n" for line in body.splitlines())
    path = tmp_path / "policy.yaml"
    path.write_text(body)
    spec = load_policy(path)
    assert spec.triggers.accuracy_below == 0.9
    assert spec.triggers.every == "7d"
    assert spec.gate.min_improvement == 0.01


def test_a_bad_key_names_its_path_line_and_a_suggestion(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("triggers:\n  acuracy_below: 0.9\n")
    with pytest.raises(BlueprintError, match=r"retrain\.triggers\.acuracy_below.*line 2.*"
                                             r"did you mean \"accuracy_below\""):
        load_policy(path)


def test_a_bad_value_and_a_bad_duration(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("gate: {alpha: 1.5}\n")
    with pytest.raises(BlueprintError, match=r"retrain\.gate\.alpha"):
        load_policy(path)
    path.write_text("triggers: {every: weekly}\n")
    with pytest.raises(BlueprintError, match="not a duration"):
        load_policy(path)


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(BlueprintError, match="no such policy file"):
        load_policy(tmp_path / "nope.yaml")


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("1.5h", 5400),
                                               ("7d", 604800)])
def test_durations(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds


def test_the_example_policy_loads() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "policies" / "retrain.yaml"
    spec = load_policy(example)
    assert spec.triggers.drift and spec.data.window == "14d" and spec.check_every == "10m"
