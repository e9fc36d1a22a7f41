"""Fitting the preprocessing from statistics gathered batch by batch (a streamed table).

The result is the very `Preprocessor` the in-memory path fits (same JSON, same transforms),
so export and serving do not know the difference. What each fitted value comes from:

    numeric      mean, std (population), min, max: exact (`RunningMoments`, Chan merge)
                 median / most frequent fill: the training row sample (`data.stream.
                 sample_rows` rows, bottom-k by row hash) — exact when the split fits in it
    categorical  categories and the most frequent: exact counts (memory ∝ distinct values)
    binary       levels and fill: exact counts
    targets      labels: exact; regression mean / std: exact
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.data.sketch import RunningMoments
from kiln.data.transforms import BOOLEAN_TEXTS, as_text
from kiln.errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

    from kiln.blueprint.schema import FeatureSpec, TargetSpec
    from kiln.data.preprocessing import Preprocessor

STREAMABLE = ("numeric", "binary", "categorical")


def texts(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """A column as strings with `as_text`'s spelling (3.0 → "3", True → "true"), nulls kept:
    each distinct value is spelled once, then the spelling is looked up per row."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        return pc.cast(column, pa.string())
    if pa.types.is_dictionary(column.type):
        column = column.dictionary_decode()
    encoded = pc.dictionary_encode(column)
    words = pa.array([as_text(v) for v in encoded.dictionary.to_pylist()], type=pa.string())
    return pc.take(words, encoded.indices)


class TrainStatistics:
    """What fitting needs from the training rows, merged one batch at a time."""

    def __init__(self, features: list[FeatureSpec], targets: list[TargetSpec]) -> None:
        self.features, self.targets = features, targets
        self.moments = {f.name: RunningMoments() for f in features if f.type == "numeric"}
        self.counts: dict[str, Counter[str]] = {
            f.name: Counter() for f in features if f.type in ("categorical", "binary")}
        self.labels: dict[str, Counter[str]] = {
            t.name: Counter() for t in targets if t.type == "classification"}
        self.target_moments = {(t.name, c): RunningMoments() for t in targets
                               if t.type == "regression" for c in t.source_columns}

    def update(self, columns: Mapping[str, Any]) -> None:
        """Merge one batch of training rows: numeric features as float64 arrays, the rest
        as Arrow string arrays (see `texts`), targets as `columns[source column]`."""
        for name, moments in self.moments.items():
            x = columns[name]
            moments.update(x[np.isfinite(x)])
        for name, counter in self.counts.items():
            counter.update(value_counts(columns[name]))
        for target in self.targets:
            if target.type == "classification":
                self.labels[target.name].update(value_counts(columns[target.source_columns[0]]))
            elif target.type == "regression":
                for column in target.source_columns:
                    self.target_moments[(target.name, column)].update(columns[column])


def value_counts(values: pa.Array) -> dict[str, int]:
    import pyarrow.compute as pc

    counted = pc.value_counts(values.drop_null())
    return dict(zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist(),
                    strict=True))


def fit_from_statistics(pre: Preprocessor, stats: TrainStatistics,
                        sample: Mapping[str, Any]) -> Preprocessor:
    """Set every transform's fitted state from `stats` (and the training row `sample` for
    the median / mode of numeric columns); returns `pre`, fitted."""
    for feature in pre.features:
        transform: Any = pre.columns[feature.name]
        if feature.type == "numeric":
            _fit_numeric(transform, stats.moments[feature.name], sample[feature.name])
        elif feature.type == "categorical":
            counts = stats.counts[feature.name]
            if not feature.categories:
                transform.categories = sorted(counts)
            if feature.impute == "most_frequent" and counts:
                transform.fill = min(counts, key=lambda c: (-counts[c], c))
        elif feature.type == "binary":
            _fit_binary(transform, stats.counts[feature.name])
        else:
            raise DataError(f"feature {feature.name!r}: {feature.type} features cannot be "
                            f"streamed yet (streamed: {', '.join(STREAMABLE)}) — set "
                            f"data.streaming: false", where=f"data.features.{feature.name}")
    for target in pre.targets:
        encoder = pre.encoders[target.name]
        if target.type == "classification" and not target.labels:
            from kiln.data.targets import sort_labels

            encoder.labels = sort_labels(set(stats.labels[target.name]))
        elif target.type == "multilabel" and not encoder.labels:
            encoder.labels = list(target.source_columns)
        elif target.type == "regression":
            moments = [stats.target_moments[(target.name, c)] for c in target.source_columns]
            encoder.mean = [m.mean for m in moments]
            encoder.std = [m.std if m.std > 0 else 1.0 for m in moments]
    pre.fitted = True
    return pre


def _fit_numeric(transform: Any, moments: RunningMoments, sample: np.ndarray) -> None:
    feature = transform.feature
    if moments.count == 0:
        raise DataError(f"column {feature.name!r}: no values in the training split")
    present = sample[np.isfinite(sample)]
    if feature.impute == "mean" or len(present) == 0:
        transform.fill = moments.mean
    elif feature.impute == "median":
        transform.fill = float(np.median(present))
    else:
        uniques, counts = np.unique(present, return_counts=True)
        transform.fill = float(uniques[np.argmax(counts)])
    if feature.scale == "standard":
        transform.center, transform.scale = moments.mean, moments.std or 1.0
    elif feature.scale == "minmax":
        span = moments.high - moments.low
        transform.center, transform.scale = moments.low, span if span > 0 else 1.0
    transform.low, transform.high = moments.low, moments.high


def _fit_binary(transform: Any, counts: Counter[str]) -> None:
    """As `BinaryTransform.fit`: text levels sort (the second is 1); fill = majority."""
    levels = sorted(counts)
    name = transform.feature.name
    if not set(levels) <= set(BOOLEAN_TEXTS):
        if len(levels) > 2:
            raise DataError(f"column {name!r}: declared binary but has {len(levels)} values "
                            f"({', '.join(levels[:5])}, ...) — declare type: categorical")
        transform.levels = levels
    ones = sum(n for t, n in counts.items()
               if (float(levels.index(t)) if transform.levels else BOOLEAN_TEXTS[t]) == 1.0)
    total = sum(counts.values())
    transform.fill = float(ones / total >= 0.5) if total else 0.0
