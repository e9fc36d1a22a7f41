"""Importing this module registers every built-in block."""

from kiln.blocks import layers, sequence, structure  # noqa: F401
