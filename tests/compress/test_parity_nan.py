"""A model that outputs NaN is named as such, not reported as an ONNX parity failure."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from compress_helpers import mlp_blueprint, random_inputs

from kiln import build_model
from kiln.compress.onnx_export import check_parity
from kiln.errors import ParityError
from kiln.model import declared_signature
from kiln.model.onnx_export import export_onnx


def test_a_model_that_outputs_nan_is_not_a_parity_failure(tmp_path: Path) -> None:
    bp = mlp_blueprint()
    model, signature = build_model(bp).eval(), declared_signature(bp)
    with torch.no_grad():
        next(iter(model.parameters())).fill_(float("nan"))
    path = export_onnx(model, signature, tmp_path / "m.onnx")
    with pytest.raises(ParityError, match="the PyTorch model itself outputs NaN") as caught:
        check_parity(model, path, random_inputs(signature, 8), signature=signature)
    assert "eval mode" not in str(caught.value)
