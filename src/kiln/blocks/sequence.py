"""Built-in blocks for token sequences and categories: embeddings, recurrent and attention."""

from __future__ import annotations

from typing import Annotated

import torch
from pydantic import Field
from torch import nn

from kiln.blocks.registry import block
from kiln.blocks.shapes import Shape, require_rank
from kiln.errors import ShapeError

Pos = Annotated[int, Field(gt=0)]
Prob = Annotated[float, Field(ge=0, lt=1)]


@block("embedding")
def embedding(in_shape: Shape, *, dim: Pos, vocab_size: int | None = None,
              num_embeddings: Pos | None = None) -> nn.Module:
    """Integer ids → vectors: (N,) → (N, dim) for a category, (N, L) → (N, L, dim) for tokens.

    The table size comes from the input (its vocabulary, unknown bucket included) unless
    `num_embeddings` is given.
    """
    require_rank(in_shape, (0, 1), "(N,) category ids or (N, length) token ids")
    size = num_embeddings or vocab_size
    if size is None:
        raise ShapeError("needs the vocabulary size: place it first on a categorical or text "
                         "input, or give num_embeddings")
    return nn.Embedding(size, dim)


class Recurrent(nn.Module):
    """LSTM or GRU over (N, L, D); returns every step (N, L, H) or the last one (N, H)."""

    def __init__(self, cell: type[nn.LSTM] | type[nn.GRU], in_features: int, hidden: int,
                 layers: int, bidirectional: bool, dropout: float, return_sequence: bool) -> None:
        super().__init__()
        self.rnn = cell(in_features, hidden, num_layers=layers, batch_first=True,
                        bidirectional=bidirectional, dropout=dropout if layers > 1 else 0.0)
        self.return_sequence = return_sequence

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.rnn(x)  # (N, L, H * directions)
        return out if self.return_sequence else out[:, -1]


def _recurrent(cell: type[nn.LSTM] | type[nn.GRU], in_shape: Shape, hidden: int, layers: int,
               bidirectional: bool, dropout: float, return_sequence: bool) -> nn.Module:
    require_rank(in_shape, (2,), "(N, length, features)",
                 "add an embedding block before it" if len(in_shape) < 2 else "")
    return Recurrent(cell, in_shape[-1], hidden, layers, bidirectional, dropout, return_sequence)


@block("lstm")
def lstm(in_shape: Shape, *, hidden: Pos, layers: Pos = 1, bidirectional: bool = False,
         dropout: Prob = 0.0, return_sequence: bool = False) -> nn.Module:
    """LSTM over (N, L, D) → (N, H) (last step) or (N, L, H) with return_sequence."""
    return _recurrent(nn.LSTM, in_shape, hidden, layers, bidirectional, dropout, return_sequence)


@block("gru")
def gru(in_shape: Shape, *, hidden: Pos, layers: Pos = 1, bidirectional: bool = False,
        dropout: Prob = 0.0, return_sequence: bool = False) -> nn.Module:
    """GRU over (N, L, D) → (N, H) (last step) or (N, L, H) with return_sequence."""
    return _recurrent(nn.GRU, in_shape, hidden, layers, bidirectional, dropout, return_sequence)


class SelfAttention(nn.Module):
    """Multi-head self-attention with a residual connection: (N, L, D) → (N, L, D)."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.attention(x, x, x, need_weights=False)  # (N, L, D)
        return x + out


def _check_heads(dim: int, heads: int) -> None:
    if dim % heads:
        raise ShapeError(f"features ({dim}) must be divisible by heads ({heads}) — "
                         f"change heads or add a linear block to a width divisible by it")


@block("self_attention")
def self_attention(in_shape: Shape, *, heads: Pos = 4, dropout: Prob = 0.0) -> nn.Module:
    """Multi-head self-attention (residual) over tokens (N, L, D)."""
    require_rank(in_shape, (2,), "(N, length, features)")
    _check_heads(in_shape[-1], heads)
    return SelfAttention(in_shape[-1], heads, dropout)


@block("transformer_encoder")
def transformer_encoder(in_shape: Shape, *, heads: Pos = 4, ff: Pos | None = None,
                        dropout: Prob = 0.1, layers: Pos = 1) -> nn.Module:
    """Pre-norm Transformer encoder layer(s) over (N, L, D); `ff` defaults to 4·D."""
    require_rank(in_shape, (2,), "(N, length, features)")
    dim = in_shape[-1]
    _check_heads(dim, heads)
    layer = nn.TransformerEncoderLayer(dim, heads, ff or 4 * dim, dropout, activation="gelu",
                                       batch_first=True, norm_first=True)
    return nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
