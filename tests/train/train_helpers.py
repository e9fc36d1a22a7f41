"""Tiny blueprints and hand-made prepared data for the training tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from kiln.blueprint import Blueprint, load_blueprint
from kiln.data.prepared import PreparedData, Split
from kiln.model.signature import InputSpec, OutputSpec, Signature


def write_table(path: Path, rows: int = 240, seed: int = 0) -> Path:
    """A CSV with 4 numeric features and a 3-class label that depends on them."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    label = (x[:, 0] + 0.5 * x[:, 1] > 0).astype(int) + (x[:, 2] > 0.8).astype(int)
    lines = ["a,b,c,d,label"] + [",".join(f"{v:.5f}" for v in r) + f",{y}"
                                 for r, y in zip(x, label, strict=True)]
    path.write_text("\n".join(lines) + "\n")
    return path


def tiny_blueprint(folder: Path, name: str = "tiny", **training: Any) -> Path:
    """A small MLP on `write_table`'s CSV; `training` overrides the training section."""
    write_table(folder / "table.csv")
    spec = {
        "name": name, "seed": 3,
        "task": {"type": "classification", "target": "label",
                 "metrics": ["accuracy", "f1_macro"]},
        "data": {"source": "table.csv",
                 "features": [{"name": c, "type": "numeric"} for c in "abcd"]},
        "architecture": {"trunk": [{"linear": {"units": 16}}, "relu", {"dropout": {"p": 0.2}}]},
        "training": {"epochs": 4, "batch_size": 32, "lr": 0.01, "threads": 1,
                     "early_stopping": {"patience": None}, **training},
    }
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def load_tiny(folder: Path, **training: Any) -> Blueprint:
    return load_blueprint(tiny_blueprint(folder, **training))


class FakePreprocessor:
    """What training needs of a Preprocessor: decode(), to_dict(), save()."""

    def __init__(self, mean: float = 5.0, std: float = 2.0) -> None:
        self.mean, self.std = mean, std

    def decode(self, outputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = {}
        for name, raw in outputs.items():
            if name == "kind":
                e = np.exp(raw - raw.max(axis=1, keepdims=True))
                out[name] = e / e.sum(axis=1, keepdims=True)
            elif name == "tags":
                out[name] = 1.0 / (1.0 + np.exp(-raw))
            else:
                out[name] = raw * self.std + self.mean
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "std": self.std}

    def save(self, path: Path) -> Path:
        path.write_text(str(self.to_dict()))
        return path


def multitask_blueprint() -> Blueprint:
    """Three heads: 3-class `kind`, 2-label `tags`, regression `size`."""
    return load_blueprint({
        "name": "multi", "seed": 1,
        "task": {"targets": [
            {"name": "kind", "type": "classification", "num_classes": 3},
            {"name": "tags", "type": "multilabel", "columns": ["t1", "t2"], "loss_weight": 0.5},
            {"name": "size", "type": "regression", "loss_weight": 2.0}],
            "metrics": ["accuracy", "f1_micro", "r2"], "objective": "accuracy"},
        "data": {"source": "unused.csv",
                 "features": [{"name": f"x{i}", "type": "numeric"} for i in range(6)]},
        "architecture": {"trunk": [{"linear": {"units": 16}}, "relu"]},
        "training": {"epochs": 3, "batch_size": 16, "threads": 1},
    })


def multitask_data(rows: int = 150, seed: int = 0) -> PreparedData:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 6)).astype(np.float32)
    kind = (x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 1).astype(np.int64)
    tags = np.stack([x[:, 2] > 0, x[:, 3] > 0], axis=1).astype(np.float32)
    size = (x[:, 4:5] - 0.5 * x[:, 5:6]).astype(np.float32)  # standardised units
    signature = Signature(
        (InputSpec("tabular", "vector", (6,), "float32", tuple(f"x{i}" for i in range(6))),),
        (OutputSpec("kind", "classification", 3, ("0", "1", "2")),
         OutputSpec("tags", "multilabel", 2, ("t1", "t2"), 0.5),
         OutputSpec("size", "regression", 1, None, 2.0)))
    cut1, cut2 = int(rows * 0.6), int(rows * 0.8)

    def split(lo: int, hi: int) -> Split:
        return Split({"tabular": x[lo:hi]},
                     {"kind": kind[lo:hi], "tags": tags[lo:hi], "size": size[lo:hi]},
                     np.arange(lo, hi))

    return PreparedData(signature=signature, features=[], train=split(0, cut1),
                        val=split(cut1, cut2), test=split(cut2, rows),
                        preprocessor=FakePreprocessor(), fingerprint="fake-0")


def without_time(metrics: dict[str, Any]) -> dict[str, Any]:
    """metrics.json minus the wall-clock seconds of each epoch (the only thing that varies)."""
    history = [{k: v for k, v in h.items() if k != "time"} for h in metrics["history"]]
    return {**metrics, "history": history}
