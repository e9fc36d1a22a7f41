"""An FT-Transformer encoder (Gorishniy, Rubachev, Khrulkov, Babenko, "Revisiting Deep
Learning Models for Tabular Data", NeurIPS 2021): every feature becomes a token, a [CLS]
token is prepended, pre-norm Transformer layers let features attend to each other, and the
[CLS] token's final state is the row's representation.

Input (N, F) numbers: the feature tokenizer gives feature j the token x_j·W_j + b_j. Input
(N, F, D) tokens (a numeric embedding with flatten: false) are used as they are. Output
(N, dim). The paper's ReGLU feed-forward is a GELU one here (the registry's own
transformer layer), which exports to ONNX as a standard op set.
"""

from __future__ import annotations

import math
from typing import Annotated

import torch
from pydantic import Field
from torch import nn

from kiln.blocks.registry import block
from kiln.blocks.shapes import Shape, require_rank
from kiln.errors import ShapeError


class FTTransformer(nn.Module):
    """(N, F) or (N, F, dim) → (N, dim)."""

    def __init__(self, features: int, dim: int, layers: int, heads: int, ff: int,
                 dropout: float, tokenize: bool) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(dim)
        self.tokenize = tokenize
        if tokenize:
            self.weight = nn.Parameter(torch.empty(features, dim).uniform_(-bound, bound))
            self.bias = nn.Parameter(torch.empty(features, dim).uniform_(-bound, bound))
        self.cls = nn.Parameter(torch.empty(1, 1, dim).uniform_(-bound, bound))
        layer = nn.TransformerEncoderLayer(dim, heads, ff, dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.out = nn.Sequential(nn.LayerNorm(dim), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        tokens = x.unsqueeze(-1) * self.weight + self.bias if self.tokenize else x  # (N, F, D)
        cls = self.cls.expand(tokens.shape[0], -1, -1)  # (N, 1, D)
        hidden = self.encoder(torch.cat([cls, tokens], dim=1))  # (N, 1 + F, D)
        return self.out(hidden[:, 0])  # (N, D)


@block("ft_transformer")
def ft_transformer(in_shape: Shape, *, dim: Annotated[int, Field(gt=0)] = 32,
                   layers: Annotated[int, Field(gt=0)] = 2,
                   heads: Annotated[int, Field(gt=0)] = 4,
                   ff: Annotated[int, Field(gt=0)] | None = None,
                   dropout: Annotated[float, Field(ge=0, lt=1)] = 0.1) -> nn.Module:
    """FT-Transformer encoder (Gorishniy et al. 2021): (N, F) or (N, F, dim) → (N, dim).

    Feature tokens + a [CLS] token go through pre-norm Transformer layers; `ff` defaults to
    2·dim."""
    require_rank(in_shape, (1, 2), "(N, features) or (N, features, dim) tokens")
    tokenize = len(in_shape) == 1
    if not tokenize and in_shape[1] != dim:
        raise ShapeError(f"tokens of width {in_shape[1]} need dim: {in_shape[1]}")
    if dim % heads:
        raise ShapeError(f"dim {dim} is not divisible by heads {heads}")
    return FTTransformer(in_shape[0], dim, layers, heads, ff or 2 * dim, dropout, tokenize)
