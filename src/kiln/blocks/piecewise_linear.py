"""Piecewise-linear encoding of numeric features (Gorishniy, Rubachev, Babenko, "On
Embeddings for Numerical Features in Tabular Deep Learning", NeurIPS 2022, PLE + linear +
ReLU).

Each scalar is cut into `bins` pieces: a bin the value has passed reads 1, the bin it lies
in reads its position inside it, later bins 0 (the first and last bins stay open-ended, so
extreme values still move the encoding). A per-feature linear layer and a ReLU turn the T
numbers into a `dim`-vector. The paper places bin edges at training-set quantiles; kiln
standardises numeric features before the model, so the edges here are the quantiles of a
standard normal, which need no data at build time and travel inside the weights file.
"""

from __future__ import annotations

from statistics import NormalDist
from typing import Annotated

import torch
from pydantic import Field
from torch import nn

from kiln.blocks.feature_linear import FeatureLinear
from kiln.blocks.registry import block
from kiln.blocks.shapes import Shape, require_rank


def normal_edges(bins: int) -> torch.Tensor:
    """bins + 1 edges: inner ones at the k/bins quantiles of N(0, 1), outer ones one inner
    width beyond (values past them still encode, the end bins are open)."""
    inner = [NormalDist().inv_cdf(k / bins) for k in range(1, bins)]
    if not inner:
        return torch.tensor([-1.0, 1.0])
    width = inner[1] - inner[0] if len(inner) > 1 else 2.0
    return torch.tensor([inner[0] - width, *inner, inner[-1] + width])


class PiecewiseLinearEmbedding(nn.Module):
    """(N, F) → (N, F·dim), or (N, F, dim) tokens with `flatten=False`."""

    left: torch.Tensor
    width: torch.Tensor

    def __init__(self, features: int, bins: int, dim: int, flatten: bool) -> None:
        super().__init__()
        edges = normal_edges(bins)
        self.register_buffer("left", edges[:-1].clone())  # (T,)
        self.register_buffer("width", (edges[1:] - edges[:-1]).clone())  # (T,)
        self.linear = FeatureLinear(features, bins, dim)
        self.flatten = flatten

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = (x.unsqueeze(-1) - self.left) / self.width  # (N, F, T) position inside each bin
        if t.shape[-1] > 1:
            t = torch.cat([t[..., :1].clamp(max=1.0), t[..., 1:-1].clamp(0.0, 1.0),
                           t[..., -1:].clamp(min=0.0)], dim=-1)
        out = torch.relu(self.linear(t))  # (N, F, dim)
        return out.flatten(1) if self.flatten else out


@block("piecewise_linear")
def piecewise_linear(in_shape: Shape, *, bins: Annotated[int, Field(ge=2, le=256)] = 16,
                     dim: Annotated[int, Field(gt=0)] = 8,
                     flatten: bool = True) -> nn.Module:
    """Piecewise-linear numeric embedding (Gorishniy et al. 2022): (N, F) → (N, F·dim).

    With flatten: false it returns (N, F, dim) tokens (for ft_transformer)."""
    require_rank(in_shape, (1,), "(N, features) standardised numbers")
    return PiecewiseLinearEmbedding(in_shape[0], bins, dim, flatten)
