"""The data stage: sources → checks → splits → preprocessing fitted on train → arrays.

`prepare_data(blueprint)` is the entry; `Preprocessor` is the fitted, JSON-saved
preprocessing that training, evaluation and serving share. Importing this package is cheap:
`prepare_data` (pandas, scikit-learn) loads on first use, and the serving path imports
`kiln.data.preprocessing` without torch or pandas.
"""

from __future__ import annotations

from typing import Any

from kiln.data.prepared import CheckResult, PreparedData, Split

# name → module that defines it; imported on first use (PEP 562).
_LAZY = {
    "prepare_data": "kiln.data.stage",
    "split_indices": "kiln.data.stage",
    "Preprocessor": "kiln.data.preprocessing",
    "augment_images": "kiln.data.images",
    "load_source": "kiln.data.sources",
    "ChecksFailed": "kiln.data.checks",
    "render_checks": "kiln.data.checks",
    "infer_features": "kiln.data.infer",
    "infer_task": "kiln.data.infer",
}

__all__ = ["CheckResult", "PreparedData", "Split", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'kiln.data' has no attribute {name!r}")
