"""A separate linear map per feature: (N, F, K) → (N, F, D), the last step of the numeric
embeddings (Gorishniy et al. 2022 call it NLinear). Not a block on its own."""

from __future__ import annotations

import math

import torch
from torch import nn


class FeatureLinear(nn.Module):
    """F independent linear layers K → D, one per feature, applied in one einsum."""

    def __init__(self, features: int, in_dim: int, out_dim: int) -> None:
        super().__init__()
        bound = 1.0 / math.sqrt(in_dim)  # nn.Linear's default initialisation, per feature
        self.weight = nn.Parameter(torch.empty(features, in_dim, out_dim).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(features, out_dim).uniform_(-bound, bound))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("nfk,fkd->nfd", x, self.weight) + self.bias  # (N, F, D)
