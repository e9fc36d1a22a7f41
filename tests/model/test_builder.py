"""Blueprint → model: the calling convention, seeding, plugins, whole models, and errors
reported at the block that caused them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

import kiln
from kiln.errors import BlueprintError, PluginError, ShapeError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

BASE = """\
name: bad
task: {type: classification, target: label, num_classes: 3}
data:
  source: sklearn:digits
  features:
    - {name: image, type: image, shape: [1, 8, 8]}
    - {name: x, type: numeric}
    - {name: y, type: numeric}
    - {name: colour, type: categorical, categories: [red, green]}
architecture:
  encoders:
    image:
      - conv2d: {out_channels: 16}
      - conv2d: {out_channels: 32}
      - maxpool2d: {kernel_size: 2}
      - global_avg_pool
  trunk:
    - linear: {units: 8}
    - relu
"""


def blueprint_file(folder: Path, edit: Any = None, name: str = "bp.yaml") -> Path:
    raw = yaml.safe_load(BASE)
    if edit is not None:
        edit(raw)
    path = folder / name
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def build(path: Path) -> torch.nn.Module:
    return kiln.build_model(kiln.load_blueprint(path))


def test_forward_takes_one_tensor_per_input_and_returns_a_tuple(tmp_path: Path) -> None:
    model = build(blueprint_file(tmp_path)).eval()
    assert model.input_names == ["image", "tabular", "colour"]
    assert model.output_names == ["label"]
    out = model(torch.zeros(4, 1, 8, 8), torch.zeros(4, 2), torch.tensor([0, 1, 2, 1]))
    assert isinstance(out, tuple) and out[0].shape == (4, 3)
    paths = [r.path for r in model.layer_rows]
    assert "architecture.encoders.colour[0]" in paths  # a default embedding, shown as such
    assert next(r for r in model.layer_rows if r.path.endswith("colour[0]")).default


def test_same_seed_same_weights(tmp_path: Path) -> None:
    bp = kiln.load_blueprint(blueprint_file(tmp_path))
    a, b = kiln.build_model(bp), kiln.build_model(bp)
    c = kiln.build_model(bp, seed=1)
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                 b.state_dict().values(), strict=True))
    assert not all(torch.equal(x, y) for x, y in zip(a.state_dict().values(),
                                                     c.state_dict().values(), strict=True))


def test_plugin_block_and_whole_model_examples() -> None:
    custom = build(EXAMPLES / "custom_block.yaml")
    assert [r.type for r in custom.layer_rows][1:4] == ["gated_linear", "layernorm",
                                                       "gated_linear"]
    whole = build(EXAMPLES / "whole_model.yaml").eval()
    assert type(whole.inner).__name__ == "TinyNet"
    assert whole(torch.zeros(2, 13))[0].shape == (2, 3)


def trunk(*blocks: Any) -> Any:
    return lambda raw: raw["architecture"].__setitem__("trunk", list(blocks))


@pytest.mark.parametrize(("edit", "error", "expected"), [
    (trunk({"linear": {"units": 8}}, "relu6"), BlueprintError,
     r"architecture.trunk\[1\] \(line \d+\): unknown block 'relu6' — did you mean \"relu\"\?"),
    (lambda raw: raw["architecture"]["encoders"]["image"].__setitem__(3, {"linear": {
        "units": 10}}), ShapeError,
     r"architecture.encoders.image\[3\] \(linear\): expects \(N, features\) or \(N, length, "
     r"features\), got \(N, 32, 4, 4\) — add a flatten or global_avg_pool block before it"),
    (trunk({"linear": {"units": 8}}, "relu", {"linear": {"units": -4}}), BlueprintError,
     r"architecture.trunk\[2\].units \(line \d+\): -4 is not a positive integer"),
    (trunk({"linear": {"unit": 8}}), BlueprintError,
     r"trunk\[0\].unit \(line \d+\): unknown argument of 'linear' — did you mean \"units\"\?"),
    (lambda raw: raw["architecture"].__setitem__("combiner", "atention"), BlueprintError,
     r"architecture.combiner \(line \d+\): unknown combiner 'atention' — did you mean "
     r"\"attention\"\?"),
    (lambda raw: raw["architecture"]["encoders"].__setitem__("imgae", ["flatten"]),
     BlueprintError,
     r"encoders.imgae \(line \d+\): no input named 'imgae' — did you mean \"image\"\?"),
    (trunk({"conv1d": {"out_channels": 4}}), ShapeError,
     r"architecture.trunk\[0\] \(conv1d\): expects \(N, channels, length\), got \(N, \d+\)"),
    (lambda raw: raw["data"]["features"][3].pop("categories"), BlueprintError,
     r"data.features \(colour\): the number of categories is unknown .* declare "
     r"`categories: \[...\]`"),
    (lambda raw: raw["architecture"]["encoders"].__setitem__("colour", [{"linear": {
        "units": 4}}]), ShapeError,
     r"encoders.colour\[0\] \(linear\): .* — this input holds integer ids: start the "
     r"encoder with an embedding block"),
    (lambda raw: raw.__setitem__("plugins", ["plugins/missing.py"]), PluginError,
     r"plugins\[0\]: plugin file .*missing.py does not exist"),
])
def test_errors_name_the_block(tmp_path: Path, edit: Any, error: type[Exception],
                               expected: str) -> None:
    path = blueprint_file(tmp_path, edit)
    with pytest.raises(error, match=expected):
        build(path)


def test_plugin_errors_name_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("import kiln\n\n\ndef gate(:\n    pass\n")
    path = blueprint_file(tmp_path, lambda raw: raw.__setitem__("plugins", ["broken.py"]))
    with pytest.raises(PluginError, match=r"broken.py:4: syntax error in plugin"):
        build(path)
    (tmp_path / "raising.py").write_text("import kiln\nraise RuntimeError('boom')\n")
    path = blueprint_file(tmp_path, lambda raw: raw.__setitem__("plugins", ["raising.py"]))
    with pytest.raises(PluginError, match=r"raising.py:2: plugin failed to import: "
                                          r"RuntimeError: boom"):
        build(path)


def test_model_class_errors(tmp_path: Path) -> None:
    shutil.copytree(EXAMPLES / "examples_models", tmp_path / "examples_models")

    def whole(name: str, **kwargs: Any) -> Any:
        return lambda raw: raw.__setitem__("architecture", {"model": name, "kwargs": kwargs}
                                           if kwargs else {"model": name})

    path = blueprint_file(tmp_path, whole("examples_models.tiny:TinyNett"))
    with pytest.raises(PluginError, match=r"architecture.model \(line \d+\): module "
                                          r"'examples_models.tiny' has no class 'TinyNett' "
                                          r"— did you mean \"TinyNet\""):
        build(path)
    path = blueprint_file(tmp_path, whole("no_such_pkg.nets:Net"))
    with pytest.raises(PluginError, match=r"cannot import module 'no_such_pkg.nets'"):
        build(path)
    path = blueprint_file(tmp_path, whole("examples_models.tiny:TinyNet", width=3))
    with pytest.raises(PluginError,
                       match=r"architecture.kwargs \(line \d+\): .*rejected its arguments"):
        build(path)
