"""ONNX export + parity on several kinds of model, and the failures a user can meet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from compress_helpers import mixed_blueprint, random_inputs

from kiln import build_model
from kiln.compress import ParityError, check_parity, export_onnx, ort_session, run_onnx
from kiln.model import declared_signature
from kiln.model.signature import Signature


def test_cnn_exports_with_named_dynamic_axes_and_parity(
        digits_cnn: tuple[Any, Signature], tmp_path: Path) -> None:
    model, signature = digits_cnn
    path = export_onnx(model, signature, tmp_path / "model.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]  # one file, no temp
    proto = onnx.load(str(path))
    assert [i.name for i in proto.graph.input] == ["image"]
    assert [o.name for o in proto.graph.output] == ["label"]
    assert proto.graph.input[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    parity = check_parity(model, path, random_inputs(signature, 130), signature=signature)
    assert parity.ok and parity.rows == 130
    assert parity.max_abs_diff["label"] <= 1e-4
    assert parity.agreement == {"label": 1.0}


def test_mlp_parity_at_several_batch_sizes(mlp: tuple[Any, Signature], tmp_path: Path) -> None:
    model, signature = mlp
    path = export_onnx(model, signature, tmp_path / "mlp.onnx")
    session = ort_session(path, threads=1)
    inputs = random_inputs(signature, 65)
    for batch in (1, 7, 64):
        out = run_onnx(session, inputs, batch_size=batch)["y"]
        assert out.shape == (65, 3)
    assert check_parity(model, path, inputs, signature=signature).ok


def test_multi_input_multi_head_model(tmp_path: Path) -> None:
    bp = mixed_blueprint()
    signature = declared_signature(bp)
    model = build_model(bp)
    path = export_onnx(model, signature, tmp_path / "mixed.onnx")
    proto = onnx.load(str(path))
    assert [i.name for i in proto.graph.input] == signature.input_names
    assert [o.name for o in proto.graph.output] == ["price", "kind"]
    parity = check_parity(model, path, random_inputs(signature, 40), signature=signature)
    assert parity.ok and set(parity.agreement) == {"price", "kind"}


def test_parity_failure_names_the_numbers(mlp: tuple[Any, Signature], tmp_path: Path) -> None:
    import torch

    model, signature = mlp
    path = export_onnx(model, signature, tmp_path / "mlp.onnx")
    with torch.no_grad():  # the PyTorch model moves on; the exported file does not
        model.heads["y"].bias.add_(0.5)
    with pytest.raises(ParityError, match=r"label|y: max \|diff\| 0\.5"):
        check_parity(model, path, random_inputs(signature, 20), signature=signature)
    report = check_parity(model, path, random_inputs(signature, 20), signature=signature,
                          raise_on_fail=False)
    assert not report.ok
    assert report.max_abs_diff["y"] == pytest.approx(0.5, abs=1e-5)
    assert np.isclose(report.agreement["y"], 1.0)  # a constant shift keeps every argmax
