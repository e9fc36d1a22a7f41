"""A generated table whose label follows a simple rule, and a tiny MLP blueprint for it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

FEATURES = ("x0", "x1", "x2", "x3")


def table(n: int, *, seed: int, flip: float = 0.0) -> Any:
    """`n` rows: four standard-normal features, label "pos" when x0 + x1 > 0; a share
    `flip` of the labels flipped (a deliberately bad training set)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(FEATURES)))
    positive = x[:, 0] + x[:, 1] > 0
    flipped = rng.random(n) < flip
    labels = np.where(positive ^ flipped, "pos", "neg")
    frame = pd.DataFrame(x, columns=list(FEATURES))
    frame["label"] = labels
    return frame


def write_csv(frame: Any, path: Path) -> Path:
    frame.to_csv(path, index=False)
    return path


def blueprint_yaml(source: Path, *, name: str = "rule", budgets: str = "{}",
                   retrain: str = "{}") -> str:
    features = ", ".join(f"{{name: {f}, type: numeric}}" for f in FEATURES)
    return f"""
name: {name}
seed: 0
task: {{type: classification, target: label, metrics: [accuracy]}}
data:
  source: {source}
  features: [{features}]
  split: {{method: stratified, test: 0.2, val: 0.15}}
architecture:
  trunk: [{{linear: {{units: 16}}}}, relu]
training: {{epochs: 40, batch_size: 32, lr: 0.01, threads: 1,
           early_stopping: {{patience: 10}}}}
compress: {{timing_budget_s: 0.2, calibration_rows: 64}}
budgets: {budgets}
retrain: {retrain}
"""


def write_blueprint(folder: Path, source: Path, **kwargs: Any) -> Path:
    path = folder / f"{kwargs.get('name', 'rule')}.yaml"
    path.write_text(blueprint_yaml(source, **kwargs), encoding="utf-8")
    return path
