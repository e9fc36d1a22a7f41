"""kiln: a custom deep-learning architecture from concept to production.

The public API is the same functions the CLI calls. Every name below is imported on first
use (PEP 562), so `import kiln` — and `kiln --help` — load neither PyTorch, MLflow, ONNX
Runtime nor even pydantic until a stage needs them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kiln.errors import KilnError

if TYPE_CHECKING:
    from kiln.blocks.registry import block, combiner
    from kiln.blueprint import Blueprint, load_blueprint
    from kiln.design import design
    from kiln.model import build_model
    from kiln.scaffold import init_blueprint

__version__ = "0.1.0"

# name → module that defines it; imported on first use.
_LAZY = {
    "Blueprint": "kiln.blueprint",
    "load_blueprint": "kiln.blueprint",
    "block": "kiln.blocks.registry",
    "combiner": "kiln.blocks.registry",
    "build_model": "kiln.model",
    "design": "kiln.design",
    "init_blueprint": "kiln.scaffold",
}

__all__ = ["Blueprint", "KilnError", "__version__", "block", "build_model", "combiner",
           "design", "init_blueprint", "load_blueprint"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kiln' has no attribute {name!r}")
