"""Fold eval-mode BatchNorm into the Linear / Conv right before it, ahead of export.

ONNX Runtime fuses Conv+BatchNormalization itself, but not Gemm+BatchNormalization: an MLP
exported as is keeps a BatchNormalization node (and four fp32 vectors) per layer, which
costs time in fp32 and bytes in int8. Folding is exact in real arithmetic; the fused model
is compared with the original on a random batch and dropped if they differ (a Linear on
the last axis followed by a BatchNorm over axis 1 is not foldable, whatever the widths).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from kiln.model.signature import Signature

TOLERANCE = 1e-5


def fold_batchnorm(model: nn.Module, signature: Signature) -> tuple[nn.Module, int]:
    """A copy of `model` with every foldable (Linear|Conv, BatchNorm) pair fused, and the
    number of pairs fused; `model` itself is returned (with 0) when nothing folds safely."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval, fuse_linear_bn_eval

    folded = copy.deepcopy(model).eval()
    count = 0
    for seq in [m for m in folded.modules() if isinstance(m, nn.Sequential)]:
        for i in range(len(seq) - 1):
            layer, norm = seq[i], seq[i + 1]
            if not isinstance(norm, nn.modules.batchnorm._BatchNorm) or \
                    norm.running_mean is None or norm.running_var is None:
                continue
            if isinstance(layer, nn.Linear) and layer.out_features == norm.num_features:
                seq[i] = fuse_linear_bn_eval(layer, norm)
            elif isinstance(layer, nn.modules.conv._ConvNd) and not layer.transposed and \
                    layer.out_channels == norm.num_features:
                seq[i] = fuse_conv_bn_eval(layer, norm)
            else:
                continue
            seq[i + 1] = nn.Identity()
            count += 1
    if count == 0 or not _same_outputs(model, folded, signature):
        return model, 0
    return folded, count


def _same_outputs(a: nn.Module, b: nn.Module, signature: Signature) -> bool:
    generator = torch.Generator().manual_seed(0)
    batch = [torch.randint(0, s.vocab_size or 1, (8, *s.shape), generator=generator)
             if s.dtype == "int64" else torch.randn((8, *s.shape), generator=generator)
             for s in signature.inputs]
    a.eval()
    with torch.no_grad():
        return all(torch.allclose(x, y, atol=TOLERANCE, rtol=1e-4)
                   for x, y in zip(a(*batch), b(*batch), strict=True))
