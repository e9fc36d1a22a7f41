"""Targets: fitted on the training split, encoded for the loss, decoded for people.

    classification  labels (declared order, else sorted) → (N,) int64 ids
    multilabel      one 0/1 column per label → (N, K) float32
    regression      (N, K) float32 standardised with the training mean and std
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from kiln.blueprint.schema import TargetSpec
from kiln.data.transforms import as_text, is_missing, mean_std
from kiln.errors import DataError


def sort_labels(labels: set[str]) -> list[str]:
    """Numbers sort as numbers ("2" before "10"), anything else alphabetically."""
    try:
        return sorted(labels, key=float)
    except ValueError:
        return sorted(labels)


def _column(columns: Mapping[str, Any], name: str, target: str) -> np.ndarray:
    if name not in columns:
        raise DataError(f"target {target!r}: no column {name!r} in the data")
    values = columns[name]
    return values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values, dtype=object)


class TargetEncoder:
    """One target (model head): `fit`, `transform`, `decode`, `state` / `from_state`."""

    def __init__(self, spec: TargetSpec) -> None:
        self.spec = spec
        self.labels: list[str] = [str(x) for x in spec.labels or []]
        self.mean: list[float] = []
        self.std: list[float] = []

    @property
    def name(self) -> str:
        return self.spec.name

    def state(self) -> dict[str, Any]:
        return {"labels": self.labels, "mean": self.mean, "std": self.std}

    @classmethod
    def from_state(cls, spec: TargetSpec, state: dict[str, Any]) -> TargetEncoder:
        encoder = cls(spec)
        encoder.labels, encoder.mean, encoder.std = state["labels"], state["mean"], state["std"]
        return encoder

    def _floats(self, columns: Mapping[str, Any]) -> np.ndarray:
        out = []
        for col in self.spec.source_columns:
            values = _column(columns, col, self.name)
            try:
                x = np.asarray(values, dtype=np.float64).reshape(len(values))
            except (TypeError, ValueError):
                row = next(i for i, v in enumerate(values)
                           if not _parses(v))
                raise DataError(f"target column {col!r}, row {row + 1}: {values[row]!r} is "
                                f"not a number") from None
            if np.isnan(x).any():
                row = int(np.flatnonzero(np.isnan(x))[0])
                raise DataError(f"target column {col!r}, row {row + 1}: missing value")
            out.append(x)
        return np.stack(out, axis=1)  # (N, K)

    def fit(self, columns: Mapping[str, Any]) -> None:
        kind = self.spec.type
        if kind == "classification" and not self.spec.labels:
            values = _column(columns, self.spec.source_columns[0], self.name)
            self.labels = sort_labels({as_text(v) for v in values if not is_missing(v)})
        elif kind == "multilabel" and not self.labels:
            self.labels = list(self.spec.source_columns)
        elif kind == "regression":
            y = self._floats(columns)
            mean, std = mean_std(y)
            self.mean = [float(m) for m in mean]
            self.std = [float(s) if s > 0 else 1.0 for s in std]

    def transform(self, columns: Mapping[str, Any]) -> np.ndarray:
        kind = self.spec.type
        if kind == "regression":
            y = self._floats(columns)
            return ((y - np.asarray(self.mean)) / np.asarray(self.std)).astype(np.float32)
        if kind == "multilabel":
            y = self._floats(columns)
            if not np.isin(y, (0.0, 1.0)).all():
                raise DataError(f"target {self.name!r}: multilabel columns must hold 0 or 1")
            return y.astype(np.float32)
        column = self.spec.source_columns[0]
        values = _column(columns, column, self.name)
        ids = {label: i for i, label in enumerate(self.labels)}
        out = np.empty(len(values), dtype=np.int64)
        for row, value in enumerate(values):
            text = None if is_missing(value) else as_text(value)
            if text not in ids:
                known = ("is not one of the declared labels" if self.spec.labels
                         else "was not seen in the training split")
                raise DataError(f"target {column!r}, row {row + 1}: label {text!r} {known} "
                                f"(labels: {', '.join(self.labels)})")
            out[row] = ids[text]
        return out

    def decode(self, raw: np.ndarray) -> np.ndarray:
        """Raw model output (N, size) → probabilities, or values in target units."""
        raw = np.asarray(raw, dtype=np.float64)
        if self.spec.type == "classification":
            shifted = raw - raw.max(axis=1, keepdims=True)  # stable softmax
            e = np.exp(shifted)
            return (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
        if self.spec.type == "multilabel":
            return (1.0 / (1.0 + np.exp(-raw))).astype(np.float32)
        return (raw * np.asarray(self.std) + np.asarray(self.mean)).astype(np.float32)


def _parses(value: Any) -> bool:
    try:
        float(value)
    except (TypeError, ValueError):
        return value is None
    return True
