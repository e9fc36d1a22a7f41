"""Per-feature fitted transforms: one class per feature type, NumPy only.

Each transform is fitted on the training values of one column, turns any values of that
column into model-ready arrays, and round-trips its fitted state through plain JSON types:

    numeric      (N,) float32   imputed, then scaled (standard / minmax / none)
    binary       (N,) float32   0/1
    categorical  (N,) int64     1..K for the known categories, 0 for the unknown bucket
    text         (N, L) int64   token ids, 0 = padding, 1 = unknown, L = max_length
    image        (N, C, H, W) float32, per-channel normalised with train mean/std
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from collections import Counter
from typing import Any, ClassVar

import numpy as np

from kiln.blueprint.schema import FeatureSpec
from kiln.data.images import image_shape, to_chw
from kiln.errors import DataError

TOKEN = re.compile(r"\w+")
PAD, UNKNOWN = 0, 1  # text ids; categorical id 0 is the unknown bucket


def is_missing(value: Any) -> bool:
    """None, NaN, pandas NA/NaT: the ways a missing value arrives from files and JSON."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return type(value).__name__ in ("NAType", "NaTType")


def missing_of(values: np.ndarray) -> np.ndarray:
    """(N,) bool: `is_missing` over a column, vectorised where the dtype allows."""
    kind = values.dtype.kind
    if kind in "fc":
        return np.isnan(values).reshape(len(values))
    if kind in "iubUSM":
        return np.isnat(values) if kind == "M" else np.zeros(len(values), dtype=bool)
    try:  # fast path for text and numbers: NaN is the one value unequal to itself
        return np.array([v is None or bool(v != v) for v in values], dtype=bool)
    except (TypeError, ValueError):  # array cells, pandas NA
        return np.array([is_missing(v) for v in values], dtype=bool)


def as_text(value: Any) -> str:
    """A category or label as text; 3.0 read from a float column is "3", like 3 in JSON."""
    if type(value) is str:
        return value
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    return str(value)


def mean_std(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per column of (N,) or (N, K) values without overflow: computed on
    values scaled to |x| <= 1 (the square of 1e200 would be inf), then scaled back."""
    x = x.reshape(len(x), -1)
    size = np.abs(x).max(axis=0)
    size[~(size > 0)] = 1.0
    scaled = x / size
    return size * scaled.mean(axis=0), size * scaled.std(axis=0)


def _missing_error(feature: FeatureSpec, rows: np.ndarray) -> DataError:
    shown = ", ".join(str(int(r) + 1) for r in rows[:5])
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return DataError(f"column {feature.name!r}, row {shown}{more}: missing value and the "
                     f"feature says missing: {feature.missing} — fill it, or set "
                     f"missing: impute")


class ColumnTransform(ABC):
    """Base: `fit(values)`, `transform(values)`, `state()` / `from_state(feature, state)`."""

    kind: ClassVar[str]

    def __init__(self, feature: FeatureSpec) -> None:
        self.feature = feature

    @abstractmethod
    def fit(self, values: np.ndarray) -> None:
        """Learn what the transform needs from the training split's values."""

    @abstractmethod
    def transform(self, values: np.ndarray) -> np.ndarray:
        """Values of this column → the model input array for them."""

    def state(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k != "feature"}

    @classmethod
    def from_state(cls, feature: FeatureSpec, state: dict[str, Any]) -> ColumnTransform:
        transform = cls(feature)
        vars(transform).update(state)
        return transform

    def _check_missing(self, mask: np.ndarray) -> None:
        if mask.any() and self.feature.missing != "impute":
            raise _missing_error(self.feature, np.flatnonzero(mask))


class NumericTransform(ColumnTransform):
    kind = "numeric"

    def __init__(self, feature: FeatureSpec) -> None:
        super().__init__(feature)
        self.fill = 0.0
        self.center = 0.0
        self.scale = 1.0
        # data.non_finite, and the training range that `clip` clips to
        self.non_finite = "error"
        self.low: float | None = None
        self.high: float | None = None

    def to_float(self, values: np.ndarray) -> np.ndarray:
        try:
            # a copy: imputation writes into it, and the caller's array stays untouched
            return np.array(values, dtype=np.float64).reshape(len(values))
        except (TypeError, ValueError):
            pass
        out = np.empty(len(values), dtype=np.float64)
        for row, value in enumerate(values):
            try:
                out[row] = np.nan if is_missing(value) else float(value)
            except (TypeError, ValueError):
                raise DataError(f"column {self.feature.name!r}, row {row + 1}: {value!r} is "
                                f"not a number") from None
        return out

    def fit(self, values: np.ndarray) -> None:
        x = self.to_float(values)
        present = x[np.isfinite(x)]
        if len(present) == 0:
            raise DataError(f"column {self.feature.name!r}: no values in the training split")
        strategy = self.feature.impute
        if strategy == "mean":
            self.fill = float(present.mean())
        elif strategy == "median":
            self.fill = float(np.median(present))
        else:
            uniques, counts = np.unique(present, return_counts=True)
            self.fill = float(uniques[np.argmax(counts)])
        if self.feature.scale == "standard":
            mean, std = mean_std(present)
            self.center, self.scale = float(mean[0]), float(std[0]) or 1.0
        elif self.feature.scale == "minmax":
            span = float(present.max() - present.min())
            self.center, self.scale = float(present.min()), span if span > 0 else 1.0
        self.low, self.high = float(present.min()), float(present.max())

    def transform(self, values: np.ndarray) -> np.ndarray:
        x = self._finite(self.to_float(values))
        missing = np.isnan(x)
        self._check_missing(missing)
        x[missing] = self.fill
        with np.errstate(over="ignore"):  # a float32 overflow is inf: callers check
            return ((x - self.center) / self.scale).astype(np.float32)

    def _finite(self, x: np.ndarray) -> np.ndarray:
        """Apply data.non_finite to ±inf: error naming the rows, missing, or clipped."""
        infinite = np.isinf(x)
        if not infinite.any():
            return x
        if self.non_finite == "error":
            rows = np.flatnonzero(infinite)
            shown = ", ".join(str(int(r) + 1) for r in rows[:5])
            more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
            raise DataError(f"column {self.feature.name!r}, row {shown}{more}: infinite value "
                            f"— fix it, or set data.non_finite: impute or clip",
                            where=self.feature.name)
        if self.non_finite == "impute":
            x[infinite] = np.nan
            return x
        low = self.fill if self.low is None else self.low
        high = self.fill if self.high is None else self.high
        x[x == np.inf], x[x == -np.inf] = high, low
        return x


# Values a binary column may hold without fitted levels; "0.0" / "1.0" are how a CSV
# column of floats spells them (a training split may hold only one of the two).
BOOLEAN_TEXTS = {"0": 0.0, "1": 1.0, "0.0": 0.0, "1.0": 1.0, "false": 0.0, "true": 1.0}


class BinaryTransform(ColumnTransform):
    """Two levels → 0/1. Numbers and booleans are used as they are; text levels sort, and
    the second is 1 ("no" → 0, "yes" → 1)."""

    kind = "binary"

    def __init__(self, feature: FeatureSpec) -> None:
        super().__init__(feature)
        self.levels: list[str] = []
        self.fill = 0.0

    def _encode(self, values: np.ndarray) -> np.ndarray:
        out = np.full(len(values), np.nan)
        for row, value in enumerate(values):
            if is_missing(value):
                continue
            text = as_text(value)
            if text in self.levels:
                out[row] = float(self.levels.index(text))
            elif text in BOOLEAN_TEXTS:
                out[row] = BOOLEAN_TEXTS[text]
            else:
                raise DataError(f"column {self.feature.name!r}, row {row + 1}: {value!r} is "
                                f"not one of the binary levels {self.levels or ['0', '1']}")
        return out

    def fit(self, values: np.ndarray) -> None:
        texts = sorted({as_text(v) for v in values if not is_missing(v)})
        if not set(texts) <= set(BOOLEAN_TEXTS):
            if len(texts) > 2:
                raise DataError(f"column {self.feature.name!r}: declared binary but has "
                                f"{len(texts)} values ({', '.join(texts[:5])}, ...) — declare "
                                f"type: categorical")
            self.levels = texts
        x = self._encode(values)
        present = x[~np.isnan(x)]
        self.fill = float(present.mean() >= 0.5) if len(present) else 0.0

    def transform(self, values: np.ndarray) -> np.ndarray:
        x = self._encode(values)
        missing = np.isnan(x)
        self._check_missing(missing)
        x[missing] = self.fill
        return x.astype(np.float32)


class CategoryTransform(ColumnTransform):
    """Known categories → ids 1..K (declared order, else sorted); anything else → 0."""

    kind = "categorical"

    def __init__(self, feature: FeatureSpec) -> None:
        super().__init__(feature)
        self.categories: list[str] = [as_text(c) for c in feature.categories or []]
        self.fill: str | None = None  # None: a missing value is the unknown bucket

    def fit(self, values: np.ndarray) -> None:
        counts = Counter(as_text(v) for v in values if not is_missing(v))
        if not self.feature.categories:
            self.categories = sorted(counts)
        if self.feature.impute == "most_frequent" and counts:
            self.fill = min(counts, key=lambda c: (-counts[c], c))

    @property
    def vocab_size(self) -> int:
        return len(self.categories) + 1

    def transform(self, values: np.ndarray) -> np.ndarray:
        ids = {c: i + 1 for i, c in enumerate(self.categories)}
        missing = missing_of(values)
        self._check_missing(missing)
        out = np.zeros(len(values), dtype=np.int64)
        for row, value in enumerate(values):
            text = self.fill if missing[row] else as_text(value)
            out[row] = ids.get(text, 0) if text is not None else 0
        return out


class TextTransform(ColumnTransform):
    """Lowercase, split on word characters; the `vocab_size - 2` most frequent training
    tokens get ids from 2 (ties alphabetical); pad or cut to `max_length`."""

    kind = "text"

    def __init__(self, feature: FeatureSpec) -> None:
        super().__init__(feature)
        self.vocab: list[str] = []

    @staticmethod
    def tokens(value: Any) -> list[str]:
        return [] if is_missing(value) else TOKEN.findall(str(value).lower())

    def fit(self, values: np.ndarray) -> None:
        counts = Counter(t for v in values for t in self.tokens(v))
        ranked = sorted(counts, key=lambda t: (-counts[t], t))
        self.vocab = ranked[: max(self.feature.vocab_size - 2, 0)]

    @property
    def vocab_size(self) -> int:
        return len(self.vocab) + 2

    def transform(self, values: np.ndarray) -> np.ndarray:
        ids = {t: i + 2 for i, t in enumerate(self.vocab)}
        self._check_missing(missing_of(values))
        length = self.feature.max_length
        out = np.full((len(values), length), PAD, dtype=np.int64)  # (N, L)
        for row, value in enumerate(values):
            seq = [ids.get(t, UNKNOWN) for t in self.tokens(value)][:length]
            out[row, : len(seq)] = seq
        return out


class ImageTransform(ColumnTransform):
    """Decode and resize to the feature's [C, H, W]; normalise each channel with the
    training mean and std. A missing image (impute) becomes all zeros = the mean image."""

    kind = "image"

    def __init__(self, feature: FeatureSpec) -> None:
        super().__init__(feature)
        self.mean: list[float] = []
        self.std: list[float] = []

    @property
    def shape(self) -> tuple[int, int, int]:
        if self.feature.shape is None:
            raise DataError(f"feature {self.feature.name!r}: an image needs "
                            f"`shape: [channels, height, width]`")
        c, h, w = self.feature.shape
        return c, h, w

    def raw(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, C, H, W) float32 before normalisation, and the missing mask."""
        shape = self.shape
        missing = missing_of(values)
        self._check_missing(missing)
        out = np.zeros((len(values), *shape), dtype=np.float32)
        for row, value in enumerate(values):
            if not missing[row]:
                out[row] = to_chw(value, shape, f"column {self.feature.name!r}, row {row + 1}")
        return out, missing

    def fit(self, values: np.ndarray) -> None:
        images, missing = self.raw(values)
        present = images[~missing]  # (N, C, H, W)
        if len(present) == 0:
            raise DataError(f"column {self.feature.name!r}: no images in the training split")
        self.mean = [float(m) for m in present.mean(axis=(0, 2, 3))]
        self.std = [float(s) if s > 0 else 1.0 for s in present.std(axis=(0, 2, 3))]

    def transform(self, values: np.ndarray) -> np.ndarray:
        images, missing = self.raw(values)
        mean = np.asarray(self.mean, dtype=np.float32)[None, :, None, None]  # (1, C, 1, 1)
        std = np.asarray(self.std, dtype=np.float32)[None, :, None, None]
        images = (images - mean) / std
        images[missing] = 0.0
        return images.astype(np.float32)


TRANSFORMS: dict[str, type[ColumnTransform]] = {
    t.kind: t for t in (NumericTransform, BinaryTransform, CategoryTransform, TextTransform,
                        ImageTransform)
}


def natural_image_shape(values: np.ndarray) -> tuple[int, int, int] | None:
    """The shape of the first readable image among `values` (for undeclared shapes)."""
    for value in values[:20]:
        if not is_missing(value):
            shape = image_shape(value)
            if shape is not None:
                return shape
    return None
