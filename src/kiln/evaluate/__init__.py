"""The evaluate stage: a run → metrics with bootstrap intervals, classical baselines,
per-slice metrics and curve data (evaluation.json), which `kiln.report` draws.

Importing this package is cheap (training imports `kiln.metrics`); the stage
loads on first use (PEP 562).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiln.evaluate.bootstrap import Estimate
    from kiln.evaluate.stage import BaselineResult, Evaluation, evaluate

_LAZY = {
    "evaluate": "kiln.evaluate.stage",
    "Evaluation": "kiln.evaluate.stage",
    "BaselineResult": "kiln.evaluate.stage",
    "Estimate": "kiln.evaluate.bootstrap",
}

__all__ = ["BaselineResult", "Estimate", "Evaluation", "evaluate"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kiln.evaluate' has no attribute {name!r}")
