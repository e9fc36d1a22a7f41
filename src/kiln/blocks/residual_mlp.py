"""The residual MLP block of tabular deep learning's ResNet baseline (Gorishniy, Rubachev,
Khrulkov, Babenko, "Revisiting Deep Learning Models for Tabular Data", NeurIPS 2021):

    x + Dropout(Linear(Dropout(ReLU(Linear(Norm(x))))))

The skip path keeps a deep stack as easy to train as a shallow one; the width `hidden`
between the two linear layers is the block's capacity. Shape is unchanged: (N, D) → (N, D).
"""

from __future__ import annotations

from typing import Annotated, Literal

import torch
from pydantic import Field
from torch import nn

from kiln.blocks.registry import block
from kiln.blocks.shapes import Shape, require_rank


class ResidualMLP(nn.Module):
    def __init__(self, features: int, hidden: int, dropout: float, norm: str) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(features) if norm == "batchnorm" else nn.LayerNorm(features)
        self.body = nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, features), nn.Dropout(dropout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(self.norm(x))  # (N, D)


@block("residual_mlp")
def residual_mlp(in_shape: Shape, *, hidden: Annotated[int, Field(gt=0)] | None = None,
                 dropout: Annotated[float, Field(ge=0, lt=1)] = 0.1,
                 norm: Literal["batchnorm", "layernorm"] = "batchnorm") -> nn.Module:
    """Residual MLP block (Gorishniy et al. 2021): x + MLP(norm(x)), (N, D) → (N, D).

    `hidden` (the inner width) defaults to 2·D."""
    require_rank(in_shape, (1,), "(N, features)", "put a linear block before it")
    return ResidualMLP(in_shape[0], hidden or 2 * in_shape[0], dropout, norm)
