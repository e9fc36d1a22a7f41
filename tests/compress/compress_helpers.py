"""Tiny blueprints and random inputs shared by the compression tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from kiln import load_blueprint
from kiln.blueprint import Blueprint
from kiln.model.signature import Signature

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def mlp_blueprint(features: int = 12, classes: int = 3) -> Blueprint:
    """A tabular MLP, the shape of the breast-cancer example."""
    raw: dict[str, Any] = {
        "name": "mlp",
        "task": {"type": "classification", "target": "y", "num_classes": classes},
        "data": {"source": "sklearn:breast_cancer",
                 "features": [{"name": f"f{i}", "type": "numeric"} for i in range(features)]},
        "architecture": {"trunk": [{"linear": {"units": 64}}, "relu",
                                   {"linear": {"units": 32}}, "relu"]},
    }
    return load_blueprint(raw)


def mixed_blueprint() -> Blueprint:
    """Numeric + categorical + text inputs, a regression and a classification head."""
    raw: dict[str, Any] = {
        "name": "mixed",
        "task": {"targets": [{"name": "price", "type": "regression"},
                             {"name": "kind", "type": "classification", "num_classes": 4}]},
        "data": {"source": "table.csv", "features": [
            {"name": "a", "type": "numeric"}, {"name": "b", "type": "numeric"},
            {"name": "city", "type": "categorical", "categories": ["x", "y", "z"]},
            {"name": "note", "type": "text", "vocab_size": 50, "max_length": 8}]},
        "architecture": {"encoders": {"note": [{"embedding": {"dim": 8}}, "seq_pool"]},
                         "trunk": [{"linear": {"units": 16}}, "relu"]},
    }
    return load_blueprint(raw)


def random_inputs(signature: Signature, rows: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Valid random inputs for every input of `signature` (ids within the vocabulary)."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for spec in signature.inputs:
        if spec.dtype == "int64":
            out[spec.name] = rng.integers(0, spec.vocab_size or 2, size=(rows, *spec.shape))
        else:
            out[spec.name] = rng.standard_normal((rows, *spec.shape)).astype(np.float32)
    return out
