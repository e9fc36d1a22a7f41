"""Built-in combiners: how the encoded inputs become one vector for the trunk."""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field
from torch import nn

from kiln.blocks.registry import combiner
from kiln.blocks.shapes import Shape, show
from kiln.errors import ShapeError


def _require_vectors(in_shapes: dict[str, Shape], name: str) -> None:
    for input_name, shape in in_shapes.items():
        if len(shape) != 1:
            raise ShapeError(
                f"{name} expects (N, features) from every encoder, but encoder "
                f"{input_name!r} gives {show(shape)} — end that encoder with flatten, "
                f"global_avg_pool or seq_pool"
            )


class Concat(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return xs[0] if len(xs) == 1 else torch.cat(xs, dim=1)  # (N, sum D_i)


@combiner("concat")
def concat(in_shapes: dict[str, Shape]) -> nn.Module:
    """Concatenate the encoded inputs: (N, D_1) … (N, D_k) → (N, ΣD)."""
    _require_vectors(in_shapes, "concat")
    return Concat()


class Sum(nn.Module):
    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        out = xs[0]
        for x in xs[1:]:
            out = out + x
        return out


@combiner("sum")
def sum_(in_shapes: dict[str, Shape]) -> nn.Module:
    """Add the encoded inputs element-wise; all must have the same shape."""
    shapes = set(in_shapes.values())
    if len(shapes) > 1:
        listed = ", ".join(f"{k}: {show(v)}" for k, v in in_shapes.items())
        raise ShapeError(f"sum needs encoders of one shape, got {listed} — add linear blocks "
                         f"to bring them to one width, or use concat")
    return Sum()


class AttentionFusion(nn.Module):
    """Each input becomes a token of width `dim`; tokens attend to each other, then average."""

    def __init__(self, widths: list[int], dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.project = nn.ModuleList(nn.Linear(w, dim) for w in widths)
        self.modality = nn.Parameter(torch.zeros(len(widths), dim))  # which input a token is
        self.attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.norm = nn.LayerNorm(dim)

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        tokens = torch.stack([p(x) for p, x in zip(self.project, xs, strict=True)], dim=1)
        tokens = tokens + self.modality  # (N, M, dim)
        fused, _ = self.attention(tokens, tokens, tokens, need_weights=False)  # (N, M, dim)
        return self.norm(tokens + fused).mean(dim=1)  # (N, dim)


@combiner("attention")
def attention(in_shapes: dict[str, Shape], *, dim: Annotated[int, Field(gt=0)] = 64,
              heads: Annotated[int, Field(gt=0)] = 4,
              dropout: Annotated[float, Field(ge=0, lt=1)] = 0.0) -> nn.Module:
    """Attention fusion: project each input to `dim`, self-attend across inputs, mean-pool."""
    _require_vectors(in_shapes, "attention")
    if dim % heads:
        raise ShapeError(f"dim ({dim}) must be divisible by heads ({heads})")
    return AttentionFusion([s[0] for s in in_shapes.values()], dim, heads, dropout)
