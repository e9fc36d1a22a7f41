"""Errors found after loading name the file and line; YAML booleans get a quoting hint."""

from __future__ import annotations

from pathlib import Path

import pytest

import kiln
from kiln.errors import BlueprintError

BLUEPRINT = """\
name: tiny
task: {type: classification, target: label, num_classes: 3}
data:
  source: sklearn:iris
  features: [{name: a, type: numeric}, {name: b, type: numeric}]
architecture:
  trunk:
    - linear: {units: 8}
    - {BLOCK}
"""


@pytest.mark.parametrize(("block", "expected"), [
    ("linear: {units: -4}", r"bp\.yaml: architecture\.trunk\[1\]\.units \(line 9\): -4 is "
                            r"not a positive integer"),
    ("relux", r"bp\.yaml: architecture\.trunk\[1\] \(line 9\): unknown block 'relux' — did "
              r"you mean \"relu\"\?"),
])
def test_model_errors_name_file_and_line(tmp_path: Path, block: str, expected: str) -> None:
    path = tmp_path / "bp.yaml"
    path.write_text(BLUEPRINT.replace("{BLOCK}", block))
    with pytest.raises(BlueprintError, match=expected) as caught:
        kiln.build_model(kiln.load_blueprint(path))
    assert caught.value.where is not None
    assert caught.value.where.startswith("architecture.trunk[1]")


def test_yaml_booleans_as_labels_suggest_quoting(tmp_path: Path) -> None:
    path = tmp_path / "bp.yaml"
    path.write_text(BLUEPRINT.replace("num_classes: 3", "labels: [no, yes]")
                    .replace("{BLOCK}", "relu"))
    with pytest.raises(BlueprintError, match=r"labels\[0\]: YAML read an unquoted no / off / "
                                             r"false as the boolean false, not text — quote "
                                             r"it \(\"no\"\)"):
        kiln.load_blueprint(path)
    path.write_text(path.read_text().replace("[no, yes]", '["no", "yes"]'))
    assert kiln.load_blueprint(path).task.targets[0].labels == ["no", "yes"]
