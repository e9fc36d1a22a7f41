"""The demo's traffic: clean rows, the same world after a drift, and their delayed labels.

Rows come from the blueprint's own data (its validation and test splits for clean traffic,
so the model has not trained on them). The drift is a new measurement regime, the kind that happens
when an instrument is replaced: numeric size features (radius, perimeter, area — or, for
other tables, the first third of the numeric features) read 1.5× larger, and images come
out 40% dimmer. Labels stay what they were: the world the model predicts has not changed,
only how it is measured — so the champion's accuracy falls, and a challenger trained on
labelled rows of the new regime can recover it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from kiln.data.prepared import PreparedData

SIZE_WORDS = ("radius", "perimeter", "area")
SCALE = 1.5
DIM = 0.6


@dataclass
class Rows:
    """Records as a client sends them, with their true labels."""

    records: list[dict[str, Any]]
    labels: list[Any]

    def batches(self, size: int) -> list[Rows]:
        return [Rows(self.records[i:i + size], self.labels[i:i + size])
                for i in range(0, len(self.records), size)]


def drifted_features(data: PreparedData) -> list[str]:
    """The features the injected drift changes."""
    numeric = [f.name for f in data.features if f.type == "numeric"]
    sized = [n for n in numeric if any(w in n.lower() for w in SIZE_WORDS)]
    images = [f.name for f in data.features if f.type == "image"]
    return (sized or numeric[:max(1, len(numeric) // 3)] if numeric else []) + images


def clean_rows(data: PreparedData, target: str, n: int, *, seed: int) -> Rows:
    """Up to `n` distinct rows of the validation and test splits, which the model did not
    train on. Never repeated: a window of copies would look unlike any sample of the
    world (ties), and the drift tests would rightly say so."""
    frame = data.table.iloc[np.concatenate([data.val.index, data.test.index])]
    rng = np.random.default_rng(seed)
    picks = rng.permutation(len(frame))[:n]
    return _rows(data, frame.iloc[picks], target)


def drifted_rows(data: PreparedData, target: str, n: int, *, seed: int) -> Rows:
    """`n` rows of the whole table (without replacement as far as it goes), measured the
    new way (`drifted_features`)."""
    frame = data.table
    rng = np.random.default_rng(seed + 1)
    picks = rng.choice(len(frame), size=n, replace=n > len(frame))
    shifted = frame.iloc[picks].copy()
    kinds = {f.name: f.type for f in data.features}
    for name in drifted_features(data):
        if kinds[name] == "image":
            shifted[name] = [np.asarray(v, dtype=float) * DIM for v in shifted[name]]
        else:
            shifted[name] = shifted[name].astype(float) * SCALE
    return _rows(data, shifted, target)


def _rows(data: PreparedData, frame: pd.DataFrame, target: str) -> Rows:
    names = [f.name for f in data.features]
    records = [{name: _plain(row[name]) for name in names}
               for row in frame[names].to_dict("records")]
    return Rows(records, [_plain(v) for v in frame[target].tolist()])


def _plain(value: Any) -> Any:
    """A JSON-able value: arrays to nested lists, NumPy scalars to Python ones."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    return value


def accuracy(answers: Sequence[Any], labels: Sequence[Any]) -> float:
    """Share of answers whose prediction equals the label (compared as text)."""
    hits = sum(str(a) == str(b) for a, b in zip(answers, labels, strict=True))
    return hits / len(labels) if labels else float("nan")
