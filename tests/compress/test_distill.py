"""Distillation: a student blueprint trained against the run's model, and bad students."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from compress_helpers import EXAMPLES

from kiln.compress import compress
from kiln.compress.distill import load_student
from kiln.errors import BlueprintError
from kiln.train import load_run


def student_file(tmp_path: Path, **changes: Any) -> Path:
    """examples/digits_student.yaml with a short training and the given top-level changes."""
    raw = yaml.safe_load((EXAMPLES / "digits_student.yaml").read_text())
    raw["training"]["epochs"] = 3
    for key, value in changes.items():
        raw[key] = value
    path = tmp_path / "student.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def test_example_student_matches_the_digits_teacher(digits_run_dir: Path) -> None:
    student = load_student(EXAMPLES / "digits_student.yaml", load_run(digits_run_dir))
    assert student.task.targets[0].num_classes == 10


def test_distilled_variant_end_to_end(digits_run_dir: Path, tmp_path: Path) -> None:
    run_dir = tmp_path / "teacher"
    shutil.copytree(digits_run_dir, run_dir, ignore=shutil.ignore_patterns("variants"))
    result = compress(load_run(run_dir), distill=student_file(tmp_path), alpha=0.7,
                      temperature=3.0, tracking=False, timing_budget_s=0.05)
    row = result.variant("distilled")
    details = row.details
    assert details["alpha"] == 0.7 and details["temperature"] == 3.0
    assert details["params"] < details["teacher_params"] / 4
    assert row.size_bytes < result.variant("fp32").size_bytes / 4
    assert row.metric > 0.5  # it learnt digits in 3 epochs, from labels and teacher
    student_run = load_run(details["student_run"])
    assert student_run.blueprint.seed == load_run(run_dir).blueprint.seed
    assert (run_dir / row.path).exists()


@pytest.mark.parametrize(("changes", "message"), [
    ({"task": {"type": "classification", "target": "label", "num_classes": 3}},
     "has 3 outputs but the teacher's has 10"),
    ({"task": {"type": "classification", "target": "digit", "num_classes": 10}},
     r"task targets \['digit'\] do not match the teacher's outputs \['label'\]"),
    ({"task": {"type": "regression", "target": "label"}}, "is regression but the teacher's"),
    ({"data": {"source": "sklearn:iris"}}, "data.features, data.source differ"),
])
def test_mismatched_student_is_refused(digits_run_dir: Path, tmp_path: Path,
                                       changes: dict[str, Any], message: str) -> None:
    with pytest.raises(BlueprintError, match=message):
        load_student(student_file(tmp_path, **changes), load_run(digits_run_dir))


def test_missing_student_file(digits_run_dir: Path) -> None:
    with pytest.raises(BlueprintError, match="no such student blueprint"):
        load_student("nowhere/student.yaml", load_run(digits_run_dir))
