"""Loading blueprints: the YAML forms, defaults, and errors that name key, line and fix."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

import kiln
from kiln.blueprint import dump_blueprint
from kiln.errors import BlueprintError

GOOD = """\
name: tiny
task:
  type: classification
  target: label
  num_classes: 3
data:
  source: sklearn:iris
  features:
    - {name: a, type: numeric}
    - {name: b, type: numeric}
architecture:
  trunk:
    - linear: {units: 8}
    - relu
    - residual:
        - linear: {units: 8}
"""


def write(tmp_path: Path, text: str, name: str = "bp.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_yaml_forms_and_defaults(tmp_path: Path) -> None:
    bp = kiln.load_blueprint(write(tmp_path, GOOD))
    assert bp.path == (tmp_path / "bp.yaml").resolve()
    assert [b.type for b in bp.architecture.trunk] == ["linear", "relu", "residual"]
    assert bp.architecture.trunk[0].args == {"units": 8}
    residual = bp.architecture.trunk[2].blocks
    assert residual is not None and residual[0].args == {"units": 8}
    assert bp.architecture.combiner.type == "concat"
    assert bp.task.metrics == ["accuracy"] and bp.task.objective == "accuracy"
    assert bp.data.split.method == "stratified" and bp.training.optimizer == "adamw"
    assert bp.resolve("data.csv") == tmp_path.resolve() / "data.csv"


def test_dump_round_trips(tmp_path: Path) -> None:
    bp = kiln.load_blueprint(write(tmp_path, GOOD))
    again = kiln.load_blueprint(yaml.safe_load(dump_blueprint(bp)))
    assert again.model_dump() == bp.model_dump()


@pytest.mark.parametrize(("change", "expected"), [
    (("trainig:\n  epochs: 3\n", None),
     r"trainig \(line 17\): unknown key 'trainig' — did you mean \"training\"\?"),
    (("training:\n  epoch: 3\n", None),
     r"training.epoch \(line 18\): unknown key 'epoch' — did you mean \"epochs\"\?"),
    (("training:\n  epochs: -4\n", None), r"training.epochs \(line 18\): -4 is not a positive"),
    (("", ("type: classification", "type: clasification")),
     r"task.*'clasification' is not accepted — did you mean \"classification\"\?"),
    (("", ("  source: sklearn:iris\n", "")), r"data.source.*required key is missing"),
    (("", ("target: label", "target: label\n  metrics: [r2]")),
     r"metrics\[0\]: 'r2' is not a metric for classification"),
])
def test_schema_errors(tmp_path: Path, change: tuple[str, tuple[str, str] | None],
                       expected: str) -> None:
    append, replace = change
    text = GOOD.replace(*replace) if replace else GOOD
    path = write(tmp_path, text + append)
    with pytest.raises(BlueprintError, match=expected) as info:
        kiln.load_blueprint(path)
    assert str(info.value).startswith(f"{path}: ")


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("num_classes: 3", "num_classes: [3"))
    with pytest.raises(BlueprintError, match=r"bp.yaml: line 6: YAML syntax error"):
        kiln.load_blueprint(path)


def test_missing_file_and_non_mapping(tmp_path: Path) -> None:
    with pytest.raises(BlueprintError, match="no such blueprint file"):
        kiln.load_blueprint(tmp_path / "nope.yaml")
    with pytest.raises(BlueprintError, match="a blueprint is a mapping"):
        kiln.load_blueprint(write(tmp_path, "- just\n- a list\n"))


def test_search_distributions_are_for_tune(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("{units: 8}", "{units: {tune: int, low: 4, high: 16}}",
                                        1))
    with pytest.raises(BlueprintError, match=r"architecture.trunk\[0\].linear.units is a search "
                                             r"distribution — run `kiln tune`"):
        kiln.load_blueprint(path)
    assert kiln.load_blueprint(path, allow_search=True).name == "tiny"
