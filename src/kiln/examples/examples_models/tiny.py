"""A whole `nn.Module` named by a blueprint (`model: examples_models.tiny:TinyNet`).

kiln imports the class (the blueprint's folder is on the import path while it does), calls
it with the blueprint's `kwargs`, and passes `signature` because `__init__` asks for it: the
model reads its input width and number of classes from there instead of hard-coding them.
`forward` takes one tensor per model input, in signature order, and returns the logits of
the one head (a tuple, or a dict keyed by target name, for several heads).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class TinyNet(nn.Module):
    """An MLP with one hidden layer: (N, features) → (N, classes)."""

    def __init__(self, signature: Any, hidden: int = 32, dropout: float = 0.1) -> None:
        super().__init__()
        (tabular,) = signature.inputs  # this model takes one vector input
        (head,) = signature.outputs
        self.hidden = nn.Linear(tabular.shape[0], hidden)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, head.size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.drop(self.act(self.hidden(x))))  # (N, classes)
