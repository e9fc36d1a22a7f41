"""kiln: a custom deep-learning architecture from concept to production.

The public API is the same functions the CLI calls. Heavy libraries (torch, MLflow, ONNX
Runtime) are imported only when a stage that needs them runs, so `import kiln` is cheap.
"""

from __future__ import annotations

from typing import Any

from kiln.blocks.registry import block, combiner
from kiln.blueprint import Blueprint, load_blueprint
from kiln.errors import KilnError

__version__ = "0.1.0"

# name → module that defines it; imported on first use (PEP 562).
_LAZY = {
    "build_model": "kiln.model",
    "design": "kiln.design",
    "init_blueprint": "kiln.scaffold",
}

__all__ = ["Blueprint", "KilnError", "__version__", "block", "combiner", "load_blueprint",
           *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kiln' has no attribute {name!r}")
