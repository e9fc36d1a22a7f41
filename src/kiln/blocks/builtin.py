"""Importing this module registers every built-in block."""

from kiln.blocks import (  # noqa: F401
    ft_transformer,
    layers,
    periodic,
    piecewise_linear,
    residual_mlp,
    sequence,
    structure,
)
