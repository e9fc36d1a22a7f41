"""BatchNorm folding before export: exact, and refused where it would change the model."""

from __future__ import annotations

from pathlib import Path

import onnx
import torch
from compress_helpers import EXAMPLES, random_inputs

from kiln import build_model, load_blueprint
from kiln.compress import check_parity, export_onnx
from kiln.compress.fold import fold_batchnorm
from kiln.model import declared_signature


def trained_statistics(model: torch.nn.Module) -> None:
    """Give every BatchNorm non-trivial running statistics and affine parameters."""
    generator = torch.Generator().manual_seed(1)
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator))
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.randn(n, generator=generator))
            module.bias.data.copy_(torch.randn(n, generator=generator))


def test_mlp_batchnorm_folds_into_gemm(tmp_path: Path) -> None:
    bp = load_blueprint(EXAMPLES / "breast_cancer_mlp.yaml")
    signature = declared_signature(bp)
    model = build_model(bp).eval()
    trained_statistics(model)
    folded, count = fold_batchnorm(model, signature)
    assert count == 2  # both Linear → BatchNorm pairs, one of them inside the residual
    path = export_onnx(folded, signature, tmp_path / "folded.onnx")
    assert "BatchNormalization" not in {n.op_type for n in onnx.load(str(path)).graph.node}
    # The original model is the reference: folding changed nothing it computes.
    assert check_parity(model, path, random_inputs(signature, 64), signature=signature).ok


def test_batchnorm_over_another_axis_is_left_alone() -> None:
    raw = {
        "task": {"type": "classification", "target": "y", "num_classes": 2},
        "data": {"source": "x.npz", "features": [
            {"name": "seq", "type": "text", "vocab_size": 20, "max_length": 8}]},
        # (N, 8, 8) → linear acts on the last axis, batchnorm normalises axis 1: widths
        # match (8 and 8) but folding would be wrong.
        "architecture": {"encoders": {"seq": [{"embedding": {"dim": 8}},
                                              {"linear": {"units": 8}}, "batchnorm",
                                              "seq_pool"]}},
    }
    bp = load_blueprint(raw)
    signature = declared_signature(bp)
    model = build_model(bp).eval()
    trained_statistics(model)
    folded, count = fold_batchnorm(model, signature)
    assert count == 0 and folded is model
