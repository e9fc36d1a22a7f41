"""Built-in blocks that shape information flow: residual connections and squeeze-excite."""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field
from torch import nn

from kiln.blocks.registry import block
from kiln.blocks.shapes import BuiltBlocks, Shape, require_rank, show
from kiln.errors import ShapeError


class Residual(nn.Module):
    """y = body(x) + shortcut(x); the shortcut is identity, or a projection when widths differ."""

    def __init__(self, body: nn.Module, shortcut: nn.Module) -> None:
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


@block("residual")
def residual(in_shape: Shape, *, blocks: BuiltBlocks, project: bool = True) -> nn.Module:
    """Wrap a list of blocks with a skip connection (projected when the width changes)."""
    out = blocks.out_shape
    if out == in_shape:
        return Residual(blocks.module, nn.Identity())  # type: ignore[arg-type]
    same_rest = len(out) == len(in_shape) and out[1:] == in_shape[1:]
    if project and len(in_shape) == 1:
        return Residual(blocks.module, nn.Linear(in_shape[0], out[0]))  # type: ignore[arg-type]
    if project and same_rest and len(in_shape) in (2, 3):
        conv = nn.Conv1d if len(in_shape) == 2 else nn.Conv2d
        return Residual(blocks.module, conv(in_shape[0], out[0], 1))  # type: ignore[arg-type]
    if project and len(in_shape) == 2 and out[0] == in_shape[0]:  # tokens: (L, D) → (L, D')
        return Residual(blocks.module, nn.Linear(in_shape[1], out[1]))  # type: ignore[arg-type]
    raise ShapeError(
        f"its blocks turn {show(in_shape)} into {show(out)}; a skip connection needs the same "
        f"shape (or only a different width with project: true) — keep stride 1 and padding same"
    )


class SqueezeExcite(nn.Module):
    """Channel attention: scale each channel by a gate computed from its global average."""

    def __init__(self, channels: int, reduction: int) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.gate = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(), nn.Linear(hidden, channels), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        squeezed = x.flatten(2).mean(dim=2)  # (N, C)
        scale = self.gate(squeezed)  # (N, C)
        return x * scale.view(*scale.shape, *([1] * (x.dim() - 2)))  # (N, C, *spatial)


@block("squeeze_excite")
def squeeze_excite(in_shape: Shape, *,
                   reduction: Annotated[int, Field(gt=0)] = 4) -> nn.Module:
    """Squeeze-and-excitation over (N, C, L) or (N, C, H, W); shape unchanged."""
    require_rank(in_shape, (2, 3), "(N, channels, length) or (N, channels, height, width)")
    return SqueezeExcite(in_shape[0], reduction)
