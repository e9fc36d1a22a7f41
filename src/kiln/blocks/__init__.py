"""Blocks: the registry and the built-in layers a blueprint can name."""

from kiln.blocks.registry import Entry, block, combiner, lookup, registered
from kiln.blocks.shapes import BuiltBlocks, Shape

__all__ = ["BuiltBlocks", "Entry", "Shape", "block", "combiner", "lookup", "registered"]
