"""The fitted preprocessing: raw columns → model inputs, targets → loss arrays, outputs → answers.

One implementation for training, evaluation and serving. It needs NumPy (and Pillow for
image files) — not torch, not pandas — so the service imports it cheaply. Fitted on the
training split only; saved as JSON beside the weights (`save` / `load`).

    pre = Preprocessor(features, task.targets).fit(train_columns)
    inputs = pre.transform(columns)         # {"tabular": (N, F) float32, "image": ...}
    targets = pre.transform_targets(columns)
    answers = pre.decode(raw_outputs)       # probabilities / target units
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np

from kiln.blueprint.schema import FeatureSpec, TargetSpec
from kiln.data.images import augment_images
from kiln.data.targets import TargetEncoder
from kiln.data.transforms import (
    TRANSFORMS,
    CategoryTransform,
    ColumnTransform,
    NumericTransform,
    TextTransform,
)
from kiln.errors import DataError
from kiln.files import atomic_write_text

FORMAT = "kiln.preprocessing/1"

__all__ = ["Preprocessor", "augment_images"]


def column_values(columns: Mapping[str, Any], name: str) -> np.ndarray:
    """One column of a DataFrame or a dict of sequences, as a 1-D object/number array."""
    if name not in columns:
        known = ", ".join(str(c) for c in list(columns)[:20])
        raise DataError(f"no column {name!r} in the input (columns: {known})")
    values = columns[name]
    if hasattr(values, "to_numpy"):  # pandas Series
        values = values.to_numpy()
    if isinstance(values, np.ndarray) and values.ndim == 1:
        return values
    out = np.empty(len(values), dtype=object)  # keep array-valued cells (images) whole
    for i, value in enumerate(values):
        out[i] = value
    return out


class Preprocessor:
    """Fitted per-feature transforms and target encoders, grouped into model inputs.

    Inputs come in first-appearance order of their feature's `input_name` (numeric and
    binary features share "tabular" unless grouped), matching `inputs_from_features`.
    """

    def __init__(self, features: Sequence[FeatureSpec], targets: Sequence[TargetSpec], *,
                 non_finite: str = "error") -> None:
        self.features = list(features)
        self.targets = list(targets)
        self.columns: dict[str, ColumnTransform] = {
            f.name: TRANSFORMS[f.type](f) for f in self.features}
        for transform in self.columns.values():  # data.non_finite travels with each column
            if isinstance(transform, NumericTransform):
                transform.non_finite = non_finite
        self.encoders: dict[str, TargetEncoder] = {t.name: TargetEncoder(t) for t in targets}
        self.fitted = False

    # ------------------------------------------------------------------ structure

    @property
    def inputs(self) -> dict[str, list[str]]:
        """Model input name → the feature names it is made of, in order."""
        groups: dict[str, list[str]] = {}
        for feature in self.features:
            groups.setdefault(feature.input_name, []).append(feature.name)
        return groups

    @property
    def vocab_sizes(self) -> dict[str, int]:
        """Feature name → id-table size (categorical and text), for the model signature."""
        return {name: t.vocab_size for name, t in self.columns.items()
                if isinstance(t, (CategoryTransform, TextTransform))}

    @property
    def class_labels(self) -> dict[str, list[str]]:
        """Target name → labels (classification, multilabel), for the model signature."""
        return {name: list(e.labels) for name, e in self.encoders.items() if e.labels}

    def labels(self, target: str) -> list[str]:
        """The class labels of one target, in the order of its output columns."""
        if target not in self.encoders:
            raise DataError(f"no target named {target!r} (targets: {', '.join(self.encoders)})")
        return list(self.encoders[target].labels)

    # ------------------------------------------------------------------ fit / transform

    def fit(self, columns: Mapping[str, Any]) -> Preprocessor:
        """Fit every feature and target on the training rows; returns self."""
        for name, transform in self.columns.items():
            transform.fit(column_values(columns, name))
        for encoder in self.encoders.values():
            encoder.fit(columns)
        self.fitted = True
        return self

    def transform(self, columns: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Raw feature columns (a DataFrame, or a dict of sequences) → model inputs."""
        self._require_fitted()
        out: dict[str, np.ndarray] = {}
        for input_name, names in self.inputs.items():
            block = self._numeric_block(names, columns)
            if block is not None:
                out[input_name] = block
                continue
            arrays = [self.columns[n].transform(column_values(columns, n)) for n in names]
            if self.columns[names[0]].kind in ("numeric", "binary"):
                out[input_name] = np.stack(arrays, axis=1).astype(np.float32)  # (N, F)
            else:
                out[input_name] = arrays[0]
        return out

    def _numeric_block(self, names: list[str], columns: Mapping[str, Any]) -> np.ndarray | None:
        """An input made only of numeric columns whose values are all finite numbers, in one
        vectorised pass: bit for bit what the per-column transforms give (the same float64
        arithmetic), several times faster for a few rows. None when any column or value
        needs the per-column rules (missing, infinite, not a number, not a column)."""
        if not all(type(self.columns[n]) is NumericTransform for n in names):
            return None
        transforms = [cast(NumericTransform, self.columns[n]) for n in names]
        try:
            x = np.array([columns[n] for n in names], dtype=np.float64)  # (F, N)
        except (KeyError, TypeError, ValueError):
            return None
        if x.ndim != 2 or not np.isfinite(x).all():
            return None
        center = np.array([t.center for t in transforms])[:, None]
        scale = np.array([t.scale for t in transforms])[:, None]
        with np.errstate(over="ignore"):  # a float32 overflow is inf: callers check
            return np.ascontiguousarray(((x - center) / scale).astype(np.float32).T)

    def transform_records(self, records: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
        """JSON records (one mapping per row) → model inputs; the serving path's entry.

        An image field holds pixel values (nested lists) or uploaded bytes; a text value is
        refused there, because it would be read as a path on the server's disk.
        """
        if not records:
            raise DataError("no records to transform — send at least one")
        columns: dict[str, list[Any]] = {}
        for feature in self.features:
            values = []
            for row, record in enumerate(records):
                if feature.name not in record:
                    raise DataError(f"record {row + 1}: no field {feature.name!r} "
                                    f"(expected fields: {', '.join(self.columns)})")
                value = record[feature.name]
                if feature.type == "image" and isinstance(value, str):
                    raise DataError(f"record {row + 1}: field {feature.name!r} must hold "
                                    f"pixel values (nested lists) or an uploaded image, not "
                                    f"text — file paths are not read")
                values.append(value)
            columns[feature.name] = values
        return self.transform(columns)

    def transform_targets(self, columns: Mapping[str, Any]) -> dict[str, np.ndarray]:
        """Target columns → (N,) int64 ids / (N, K) float32 arrays, keyed by target name."""
        self._require_fitted()
        return {name: e.transform(columns) for name, e in self.encoders.items()}

    def decode(self, outputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Raw model outputs → softmax / sigmoid probabilities or unscaled regression values."""
        self._require_fitted()
        return {name: self.encoders[name].decode(raw) for name, raw in outputs.items()
                if name in self.encoders}

    def augment(self, inputs: Mapping[str, np.ndarray],
                rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Training-time augmentation of the image inputs whose feature says `augment`."""
        out = dict(inputs)
        for feature in self.features:
            if feature.type == "image" and feature.augment and feature.input_name in out:
                out[feature.input_name] = augment_images(out[feature.input_name], rng)
        return out

    def _require_fitted(self) -> None:
        if not self.fitted:
            raise DataError("the preprocessor is not fitted — call fit() on the training "
                            "split first, or load() a saved one")

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        self._require_fitted()
        return {
            "format": FORMAT,
            "features": [{"spec": f.model_dump(mode="json"),
                          "state": self.columns[f.name].state()} for f in self.features],
            "targets": [{"spec": t.model_dump(mode="json"),
                         "state": self.encoders[t.name].state()} for t in self.targets],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Preprocessor:
        if data.get("format") != FORMAT:
            raise DataError(f"preprocessing: format {data.get('format')!r} is not {FORMAT!r} "
                            f"— was it written by another kiln version?")
        features = [FeatureSpec(**f["spec"]) for f in data["features"]]
        targets = [TargetSpec(**t["spec"]) for t in data["targets"]]
        pre = cls(features, targets)
        for feature, entry in zip(features, data["features"], strict=True):
            pre.columns[feature.name] = TRANSFORMS[feature.type].from_state(
                feature, entry["state"])
        for target, entry in zip(targets, data["targets"], strict=True):
            pre.encoders[target.name] = TargetEncoder.from_state(target, entry["state"])
        pre.fitted = True
        return pre

    def save(self, path: str | Path) -> Path:
        """Write JSON atomically (temp file + rename); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(self.to_dict(), indent=1))
        return path

    @classmethod
    def load(cls, path: str | Path) -> Preprocessor:
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError(f"{path}: no such preprocessing file") from None
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: not valid JSON (line {exc.lineno}) — the file is "
                            f"damaged; re-export the run") from None
        return cls.from_dict(data)
