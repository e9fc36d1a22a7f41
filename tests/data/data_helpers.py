"""Helpers for the data-stage tests: blueprints around tiny tables written to tmp_path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from kiln.blueprint import Blueprint, load_blueprint


def make_blueprint(folder: Path, source: str, *, target: Any = "label",
                   task_type: str = "classification", features: list[dict[str, Any]] | None = None,
                   split: dict[str, Any] | None = None, seed: int = 0,
                   **data: Any) -> Blueprint:
    """A blueprint file in `folder` (so relative sources resolve against it), loaded."""
    raw: dict[str, Any] = {
        "seed": seed,
        "task": {"type": task_type, "target": target},
        "data": {"source": source, **data},
        "architecture": {},
    }
    if features is not None:
        raw["data"]["features"] = features
    if split is not None:
        raw["data"]["split"] = split
    path = folder / "blueprint.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return load_blueprint(path)


def write_png(path: Path, value: int, size: tuple[int, int] = (6, 6), mode: str = "L") -> Path:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    pixels = rng.integers(0, 256, size=(size[1], size[0]) + ((3,) if mode == "RGB" else ()))
    Image.fromarray(pixels.astype(np.uint8), mode=mode).save(path)
    return path


def mixed_table(rows: int = 60, seed: int = 0) -> dict[str, list[Any]]:
    """Columns of every tabular type, with a label that depends on them."""
    rng = np.random.default_rng(seed)
    age = rng.normal(40, 10, rows).round(1)
    city = rng.choice(["paris", "lyon", "nice"], rows)
    member = rng.choice(["yes", "no"], rows)
    words = np.array(["good", "bad", "fine", "great", "awful", "ok"])
    notes = [" ".join(rng.choice(words, 4)) for _ in range(rows)]
    label = np.where(age > 40, "old", "young")
    return {"age": age.tolist(), "city": city.tolist(), "member": member.tolist(),
            "notes": notes, "label": label.tolist()}


MIXED_FEATURES = [
    {"name": "age", "type": "numeric"},
    {"name": "city", "type": "categorical"},
    {"name": "member", "type": "binary"},
    {"name": "notes", "type": "text", "vocab_size": 6, "max_length": 5},
]
