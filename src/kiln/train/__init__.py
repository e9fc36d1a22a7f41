"""Training: `train(blueprint) -> Run`, runs on disk, `load_run`, `predict`.

Names are imported on first use (PEP 562) so that `kiln.runs.run` — all the CLI's
`kiln runs` needs — does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiln.runs import Run, list_runs, load_run
    from kiln.train.inference import predict
    from kiln.train.losses import Distillation
    from kiln.train.stage import train

_LAZY = {
    "train": "kiln.train.stage",
    "Distillation": "kiln.train.losses",
    "predict": "kiln.train.inference",
    "Run": "kiln.runs.run",
    "load_run": "kiln.runs.run",
    "list_runs": "kiln.runs.run",
}

__all__ = ["Distillation", "Run", "list_runs", "load_run", "predict", "train"]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kiln.train' has no attribute {name!r}")
