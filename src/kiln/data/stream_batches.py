"""One pass over a streamed table: record batches → cleaned columns, row keys, splits;
and cleaned columns → model-ready arrays through the fitted `Preprocessor`.

Each pass reads the file again; nothing about the rows is kept between passes, so memory
stays at a batch whatever the table's size. Cleaning is the in-memory path's, per batch:
numeric features parsed (a bad value names file, row, batch and column), ±inf handled by
`data.non_finite`, rows without a target or missing a `missing: drop` feature left out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.data.rowkey import assign_splits, row_keys
from kiln.data.stream_fit import texts
from kiln.data.stream_source import StreamSource, numeric_values
from kiln.errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

    from kiln.blueprint.schema import Blueprint, FeatureSpec
    from kiln.data.preprocessing import Preprocessor


@dataclass
class CleanBatch:
    """The kept rows of one record batch. `columns`: numeric features and regression /
    multilabel target columns as float64 arrays, every other column as Arrow strings."""

    number: int  # 1-based batch number, for messages
    first: int  # 0-based file row of the batch's first row
    rows: np.ndarray  # (n,) 0-based file rows of the kept rows
    columns: dict[str, Any]
    keys: np.ndarray  # (n,) uint64 row keys (split assignment, sampling)
    splits: np.ndarray  # (n,) uint8 TRAIN / VAL / TEST
    # The float64 columns stacked (F, n): `columns` holds views of its rows, so selecting
    # rows is one gather for all of them instead of one per column.
    block: np.ndarray | None = None
    block_names: tuple[str, ...] = ()

    def select(self, mask: np.ndarray) -> dict[str, Any]:
        """The columns of the rows where `mask` holds."""
        return self._take(np.flatnonzero(mask))[0]

    def keep(self, mask: np.ndarray) -> CleanBatch:
        """The batch without the rows where `mask` is False."""
        columns, block = self._take(np.flatnonzero(mask))
        return CleanBatch(self.number, self.first, self.rows[mask], columns, self.keys[mask],
                          self.splits[mask], block, self.block_names)

    def _take(self, positions: np.ndarray) -> tuple[dict[str, Any], np.ndarray | None]:
        import pyarrow as pa

        out: dict[str, Any] = {}
        block = None
        if self.block is not None:
            block = self.block[:, positions]  # (F, kept): one gather for every float column
            out.update(zip(self.block_names, block, strict=True))
        index = pa.array(positions)
        for name, values in self.columns.items():
            if name not in out:
                out[name] = values[positions] if isinstance(values, np.ndarray) else \
                    values.take(index)
        return out, block


class BatchReader:
    """Reads, cleans, keys and splits a streamed table, batch by batch (one pass per call)."""

    def __init__(self, source: StreamSource, blueprint: Blueprint, features: list[FeatureSpec],
                 key_columns: list[str], fold: int | None) -> None:
        self.source, self.blueprint, self.features = source, blueprint, features
        self.targets = list(blueprint.task.targets)
        self.target_columns = [c for t in self.targets for c in t.source_columns]
        self.float_targets = {c for t in self.targets if t.type != "classification"
                              for c in t.source_columns}
        self.key_columns, self.fold = key_columns, fold
        self.wanted = list(dict.fromkeys(
            [f.name for f in features] + self.target_columns + key_columns))

    def __iter__(self) -> Iterator[CleanBatch]:
        spec = self.blueprint.data
        for number, (first, batch) in enumerate(
                self.source.batches(self.wanted, spec.stream.batch_rows), start=1):
            yield self.clean(batch, first, number)

    def clean(self, batch: pa.RecordBatch, first: int, number: int) -> CleanBatch:
        n = batch.num_rows
        floats = [f.name for f in self.features if f.type == "numeric"] + [
            c for c in self.target_columns if c in self.float_targets]
        block = np.empty((len(floats), n), dtype=np.float64)  # (F, n)
        for j, name in enumerate(floats):
            block[j] = numeric_values(self.source, batch, name, first, number)
        infinite = np.isinf(block)
        if infinite.any():
            self._finite(block, infinite, floats, first, number)
        columns: dict[str, Any] = dict(zip(floats, block, strict=True))
        missing_floats = np.isnan(block)  # (F, n)
        position = {name: j for j, name in enumerate(floats)}
        drop = np.zeros(n, dtype=bool)
        for feature in self.features:
            if feature.type == "numeric":
                missing = missing_floats[position[feature.name]]
            else:
                columns[feature.name] = texts(batch.column(feature.name))
                missing = _nulls(columns[feature.name])
            self._missing(feature, missing, first, number)
            if feature.missing == "drop":
                drop |= missing
        for name in self.target_columns:
            if name in self.float_targets:
                missing = missing_floats[position[name]]
            else:
                columns[name] = texts(batch.column(name))
                missing = _nulls(columns[name])
            drop |= missing  # as in memory: a row without a target cannot train or score
        keys = row_keys(batch, self.key_columns, self.blueprint.seed)
        splits = assign_splits(keys, spec=self.blueprint.data.split, fold=self.fold)
        clean = CleanBatch(number, first, np.arange(first, first + n), columns, keys, splits,
                           block, tuple(floats))
        return clean.keep(~drop) if drop.any() else clean

    def _finite(self, block: np.ndarray, infinite: np.ndarray, names: list[str],
                first: int, number: int) -> None:
        """±inf by `data.non_finite`: an error naming the first, or NaN (impute); clip is
        the fitted transform's (to the training range). Targets are never infinite."""
        policy = self.blueprint.data.non_finite
        for j, name in enumerate(names):
            where = np.flatnonzero(infinite[j])
            if not len(where):
                continue
            if policy == "error" or name in self.float_targets:
                raise DataError(f"{self.source.where(first + int(where[0]))}, batch {number}, "
                                f"column {name!r}: infinite value — fix it, or set "
                                f"data.non_finite: impute or clip", where=name)
            if policy == "impute":
                block[j, where] = np.nan

    def _missing(self, feature: FeatureSpec, missing: np.ndarray, first: int,
                 number: int) -> None:
        if feature.missing == "error" and missing.any():
            row = first + int(np.flatnonzero(missing)[0])
            raise DataError(f"{self.source.where(row)}, batch {number}, column "
                            f"{feature.name!r}: missing value and the feature says missing: "
                            f"error — fill it, or set missing: impute", where=feature.name)


def _nulls(values: pa.Array) -> np.ndarray:
    return np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool)


def encode(pre: Preprocessor, columns: dict[str, Any], context: str
           ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Cleaned columns → (model inputs, encoded targets), as `Preprocessor.transform` and
    `transform_targets` make them; categories and labels are looked up by Arrow, not row
    by row. A `DataError` gets `context` (file and batch) in front."""
    try:
        inputs: dict[str, np.ndarray] = {}
        for input_name, names in pre.inputs.items():
            if _all_numeric(pre, names):
                inputs[input_name] = _numeric_block(pre, names, columns)
                continue
            arrays = [_feature(pre, name, columns[name]) for name in names]
            if pre.columns[names[0]].kind in ("numeric", "binary"):
                inputs[input_name] = np.stack(arrays, axis=1).astype(np.float32)  # (n, F)
            else:
                inputs[input_name] = arrays[0]
        targets = {t.name: _target(pre, t.name, columns) for t in pre.targets}
    except DataError as exc:
        raise DataError(f"{context}: {exc}", where=exc.where) from None
    return inputs, targets


def _all_numeric(pre: Preprocessor, names: list[str]) -> bool:
    return all(getattr(pre.columns[n], "kind", "") == "numeric"
               and getattr(pre.columns[n], "non_finite", "") != "clip" for n in names)


def _numeric_block(pre: Preprocessor, names: list[str], columns: dict[str, Any]
                   ) -> np.ndarray:
    """`NumericTransform.transform` of every column of an all-numeric input at once:
    missing → fill, then (x - center) / scale, as float32 (n, F). ±inf never reaches here
    (`clean` raised or made it missing) and missing values were checked there too."""
    transforms: list[Any] = [pre.columns[n] for n in names]
    x = np.stack([columns[n] for n in names], axis=1)  # (n, F) float64
    fill = np.array([t.fill for t in transforms])
    center = np.array([t.center for t in transforms])
    scale = np.array([t.scale for t in transforms])
    missing = np.isnan(x)
    if missing.any():
        x = np.where(missing, fill, x)
    with np.errstate(over="ignore"):  # a float32 overflow is inf, as in the transform
        return ((x - center) / scale).astype(np.float32)


def _feature(pre: Preprocessor, name: str, values: Any) -> np.ndarray:
    transform: Any = pre.columns[name]
    if transform.kind == "numeric":
        return np.asarray(transform.transform(values))
    if transform.kind == "categorical":
        import pyarrow as pa
        import pyarrow.compute as pc

        found = pc.index_in(values, value_set=pa.array(transform.categories, type=pa.string()))
        ids = found.to_numpy(zero_copy_only=False)  # float with NaN where not found
        out = np.where(np.isnan(ids), -1, ids).astype(np.int64) + 1  # 0: the unknown bucket
        if transform.fill is not None and transform.fill in transform.categories:
            missing = np.asarray(values.is_null().to_numpy(zero_copy_only=False), dtype=bool)
            out[missing] = transform.categories.index(transform.fill) + 1
        return out
    return np.asarray(transform.transform(np.asarray(values.to_pylist(), dtype=object)))


def _target(pre: Preprocessor, name: str, columns: dict[str, Any]) -> np.ndarray:
    encoder = pre.encoders[name]
    spec = encoder.spec
    if spec.type != "classification":
        return encoder.transform(columns)
    import pyarrow as pa
    import pyarrow.compute as pc

    values = columns[spec.source_columns[0]]
    found = pc.index_in(values, value_set=pa.array(encoder.labels, type=pa.string()))
    if found.null_count:
        row = int(np.flatnonzero(np.asarray(found.is_null().to_numpy(zero_copy_only=False)))[0])
        raise DataError(f"target {spec.source_columns[0]!r}, row {row + 1} of the batch: label "
                        f"{values[row].as_py()!r} was not seen in the training split (labels: "
                        f"{', '.join(encoder.labels)}) — add rows with it, or declare "
                        f"task labels", where=spec.source_columns[0])
    return np.asarray(found.to_numpy(zero_copy_only=False), dtype=np.int64)
