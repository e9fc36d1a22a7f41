"""A custom block in one file and one decorator: a gated linear unit (Dauphin et al., 2017).

A blueprint lists this file under `plugins`; kiln imports it, and the decorator registers
the block under the name the blueprint uses. kiln fills `in_features` from the shape the
previous block produces; `units` comes from the blueprint (`gated_linear: {units: 32}`) and
is validated from the annotation, so `units: -4` is refused before anything is built.
"""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field
from torch import nn

import kiln


@kiln.block("gated_linear")
class GatedLinear(nn.Module):
    """(N, F) → (N, units): a linear value, scaled element-wise by a sigmoid gate."""

    def __init__(self, in_features: int, units: Annotated[int, Field(gt=0)] = 64) -> None:
        super().__init__()
        self.value = nn.Linear(in_features, units)
        self.gate = nn.Linear(in_features, units)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.value(x) * torch.sigmoid(self.gate(x))  # (N, units)
