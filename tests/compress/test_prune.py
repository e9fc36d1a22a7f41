"""Structured pruning: fewer parameters, a smaller and still working ONNX model."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import torch
from compress_helpers import mlp_blueprint, random_inputs

from kiln import build_model, load_blueprint
from kiln.compress import check_parity, export_onnx
from kiln.compress.prune import load_pruned, prune_model, save_pruned
from kiln.errors import KilnError
from kiln.model import declared_signature
from kiln.model.measure import count_params
from kiln.model.signature import Signature


def test_cnn_pruning_removes_channels_and_keeps_the_head(
        digits_cnn: tuple[Any, Signature], tmp_path: Path) -> None:
    model, signature = digits_cnn
    before = copy.deepcopy(model)
    report = prune_model(model, signature, 0.5)
    assert report.params_before == count_params(before)
    assert report.params_after == count_params(model) < 0.4 * report.params_before
    convs = [m for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [16, 16, 32]  # really narrower, not zeroed
    assert model.heads["label"].out_features == 10  # the output contract is untouched
    small = export_onnx(model, signature, tmp_path / "pruned.onnx")
    big = export_onnx(before, signature, tmp_path / "full.onnx")
    assert small.stat().st_size < 0.4 * big.stat().st_size
    inputs = random_inputs(signature, 50)
    assert check_parity(model, small, inputs, signature=signature).ok


def test_mlp_pruning_and_safetensors_round_trip(tmp_path: Path) -> None:
    bp = mlp_blueprint()
    signature = declared_signature(bp)
    model = build_model(bp)
    report = prune_model(model, signature, 0.25)
    widths = [m.out_features for m in model.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [48, 24, 3]
    path = save_pruned(model, report, tmp_path)
    again = load_pruned(build_model(bp), path)  # a fresh model from the blueprint
    x = torch.from_numpy(random_inputs(signature, 8)["tabular"])
    with torch.no_grad():
        assert torch.equal(model(x)[0], again(x)[0])


def test_residual_block_is_pruned_consistently(tmp_path: Path) -> None:
    raw = {
        "task": {"type": "classification", "target": "y", "num_classes": 2},
        "data": {"source": "sklearn:breast_cancer",
                 "features": [{"name": f"f{i}", "type": "numeric"} for i in range(6)]},
        "architecture": {"trunk": [{"linear": {"units": 32}}, "relu",
                                   {"residual": [{"linear": {"units": 32}}, "relu"]}]},
    }
    bp = load_blueprint(raw)
    signature = declared_signature(bp)
    model = build_model(bp)
    prune_model(model, signature, 0.5)
    path = export_onnx(model, signature, tmp_path / "res.onnx")
    assert check_parity(model, path, random_inputs(signature, 20), signature=signature).ok


def test_bad_ratio_is_refused(mlp: tuple[Any, Signature]) -> None:
    model, signature = mlp
    for ratio in (0.0, 1.0, 1.5):
        with pytest.raises(KilnError, match="strictly between 0 and 1"):
            prune_model(model, signature, ratio)


def test_loading_unpruned_weights_is_refused(tmp_path: Path) -> None:
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2)}, str(tmp_path / "weights.safetensors"))
    with pytest.raises(KilnError, match="not a kiln pruned model"):
        load_pruned(build_model(mlp_blueprint()), tmp_path / "weights.safetensors")
