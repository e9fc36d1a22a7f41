"""Periodic embedding of numeric features (Gorishniy, Rubachev, Babenko, "On Embeddings
for Numerical Features in Tabular Deep Learning", NeurIPS 2022, PLR: periodic + linear +
ReLU).

Each scalar x becomes [cos(2π c_i x), sin(2π c_i x)] for k trained frequencies c_i
(initialised from N(0, sigma²)), then a per-feature linear layer and a ReLU give a
`dim`-vector. The frequencies let an MLP fit sharp, high-frequency functions of one feature
that it would need many units to draw with ReLUs alone. `sigma` is the paper's most
important hyper-parameter: larger values start with higher frequencies.
"""

from __future__ import annotations

import math
from typing import Annotated

import torch
from pydantic import Field
from torch import nn

from kiln.blocks.feature_linear import FeatureLinear
from kiln.blocks.registry import block
from kiln.blocks.shapes import Shape, require_rank


class PeriodicEmbedding(nn.Module):
    """(N, F) → (N, F·dim), or (N, F, dim) tokens with `flatten=False`."""

    def __init__(self, features: int, frequencies: int, sigma: float, dim: int,
                 flatten: bool) -> None:
        super().__init__()
        self.frequencies = nn.Parameter(torch.randn(features, frequencies) * sigma)  # (F, k)
        self.linear = FeatureLinear(features, 2 * frequencies, dim)
        self.flatten = flatten

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        angle = 2 * math.pi * self.frequencies * x.unsqueeze(-1)  # (N, F, k)
        waves = torch.cat([torch.cos(angle), torch.sin(angle)], dim=-1)  # (N, F, 2k)
        out = torch.relu(self.linear(waves))  # (N, F, dim)
        return out.flatten(1) if self.flatten else out


@block("periodic")
def periodic(in_shape: Shape, *, frequencies: Annotated[int, Field(gt=0)] = 16,
             sigma: Annotated[float, Field(gt=0)] = 0.1, dim: Annotated[int, Field(gt=0)] = 8,
             flatten: bool = True) -> nn.Module:
    """Periodic numeric embedding (Gorishniy et al. 2022): (N, F) → (N, F·dim).

    With flatten: false it returns (N, F, dim) tokens (for ft_transformer)."""
    require_rank(in_shape, (1,), "(N, features) standardised numbers")
    return PeriodicEmbedding(in_shape[0], frequencies, sigma, dim, flatten)
