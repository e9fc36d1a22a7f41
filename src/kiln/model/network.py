"""The model kiln builds: encoders → combiner → trunk → heads, readable top to bottom."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class LayerRow:
    """One line of the design table: where a block sits in the blueprint and in the model."""

    path: str  # blueprint key path, e.g. "architecture.encoders.image[3]"
    type: str  # registered name
    module: nn.Module
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    depth: int = 0  # nesting level (blocks inside residual / repeat)
    default: bool = False  # filled in by kiln, not written in the blueprint


class KilnModel(nn.Module):
    """A model built from blocks. `forward(*inputs)` takes one tensor per input, in
    `input_names` order, and returns one tensor per head, in `output_names` order."""

    def __init__(self, encoders: nn.ModuleDict, combiner: nn.Module, trunk: nn.Sequential,
                 heads: nn.ModuleDict, input_names: list[str], output_names: list[str]) -> None:
        super().__init__()
        self.encoders = encoders
        self.combiner = combiner
        self.trunk = trunk
        self.heads = heads
        self.input_names = list(input_names)
        self.output_names = list(output_names)
        self.layer_rows: list[LayerRow] = []

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        encoded = [self.encoders[name](x) for name, x in zip(self.input_names, inputs,
                                                               strict=True)]
        hidden = self.combiner(*encoded)  # (N, D)
        hidden = self.trunk(hidden)  # (N, D')
        return tuple(self.heads[name](hidden) for name in self.output_names)


class ExternalModel(nn.Module):
    """Adapts a user's whole `nn.Module` (`architecture.model`) to kiln's calling convention."""

    def __init__(self, inner: nn.Module, input_names: list[str], output_names: list[str]) -> None:
        super().__init__()
        self.inner = inner
        self.input_names = list(input_names)
        self.output_names = list(output_names)
        self.layer_rows: list[LayerRow] = []

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        out = self.inner(*inputs)
        if isinstance(out, dict):
            return tuple(out[name] for name in self.output_names)
        return tuple(out) if isinstance(out, (tuple, list)) else (out,)


class Bagged(nn.Module):
    """`training.bagging` members of one architecture, trained on different folds
    (`kiln.train.bagging`); `forward` returns the mean of their raw outputs per head
    (logits, standardised values), so everything downstream treats it as one model."""

    def __init__(self, members: list[KilnModel | ExternalModel]) -> None:
        super().__init__()
        first = members[0]
        self.members = nn.ModuleList(members)
        self.input_names: list[str] = list(first.input_names)
        self.output_names: list[str] = list(first.output_names)
        self.layer_rows: list[LayerRow] = list(first.layer_rows)  # one member's layers

    def forward(self, *inputs: torch.Tensor) -> tuple[torch.Tensor, ...]:
        outputs = [member(*inputs) for member in self.members]
        return tuple(torch.stack(heads).mean(dim=0) for heads in zip(*outputs, strict=True))
