"""`prepare_streamed`: a streamed table → `StreamedData`, in one pass over the file.

The pass keys and splits every row, gathers the training statistics, counts rows and
labels per split, keeps a bounded row sample per split and hashes the data into the run's
fingerprint. The preprocessing is then fitted from the statistics (kiln.data.stream_fit).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.data.checks import raise_on_errors
from kiln.data.prepared import CheckResult, Split
from kiln.data.rowkey import SPLIT_NAMES, TRAIN, key_columns, mix, row_keys
from kiln.data.sketch import BottomK
from kiln.data.stream_batches import BatchReader, CleanBatch
from kiln.data.stream_fit import STREAMABLE, TrainStatistics, fit_from_statistics
from kiln.data.stream_source import StreamSource
from kiln.data.streaming import SplitStream, StreamedData
from kiln.errors import DataError, did_you_mean

if TYPE_CHECKING:
    import pyarrow as pa

    from kiln.blueprint.schema import Blueprint, FeatureSpec


def prepare_streamed(blueprint: Blueprint, path: Path, *, fold: int | None = None
                     ) -> StreamedData:
    """Stream `path` once: features, splits, statistics, samples; fit the preprocessing.

    Raises `DataError` naming file, row, batch and column for a bad value, and
    `ChecksFailed` when a check is an error (as `prepare_data`)."""
    from kiln.data.preprocessing import Preprocessor

    spec, task = blueprint.data, blueprint.task
    target_columns = [c for t in task.targets for c in t.source_columns]
    features = _features(blueprint, path, target_columns)
    numeric = [f.name for f in features if f.type == "numeric"]
    text = [f.name for f in features if f.type != "numeric"] + [
        c for t in task.targets if t.type == "classification" for c in t.source_columns]
    source = StreamSource.open(path, numeric=numeric, text=text)
    _require(source, target_columns, "target")
    _require(source, [f.name for f in features], "feature")
    names = [f.name for f in features]
    keys = key_columns(spec.split, names, spec.stream.key)
    _require(source, keys, "row key")
    reader = BatchReader(source, blueprint, features, keys, fold)
    scan = FitPass(reader, spec.stream.sample_rows)
    scan.run()
    checks = scan.checks()
    raise_on_errors(checks)
    samples = {name: scan.samples[i].to_pandas() for i, name in enumerate(SPLIT_NAMES)}
    pre = Preprocessor(features, task.targets, non_finite=spec.non_finite)
    train_sample = samples["train"]
    fit_from_statistics(pre, scan.stats, {n: train_sample[n].to_numpy(dtype=np.float64)
                                          for n in numeric})
    import pandas as pd

    table = pd.concat(list(samples.values()), ignore_index=True)
    splits, start = {}, 0
    for name, frame in samples.items():
        index = np.arange(start, start + len(frame))
        start += len(frame)
        splits[name] = Split(pre.transform(frame), pre.transform_targets(frame), index)
    streams = {name: SplitStream(name, code, reader, pre, scan.rows[code])
               for code, name in enumerate(SPLIT_NAMES)}
    from kiln.model.signature import Signature, inputs_from_features, outputs_from_task

    signature = Signature(inputs_from_features(features, pre.vocab_sizes),
                          outputs_from_task(task, pre.class_labels))
    return StreamedData(
        signature=signature, features=features,
        train=splits["train"], val=splits["val"], test=splits["test"], preprocessor=pre,
        fingerprint=scan.fingerprint(blueprint.seed), checks=checks, table=table,
        streams=streams)


def _features(blueprint: Blueprint, path: Path, target_columns: list[str]
              ) -> list[FeatureSpec]:
    """Declared features, or the ones `infer_features` sees in the first sample rows."""
    spec = blueprint.data
    if spec.features:
        features = list(spec.features)
    else:
        from kiln.data.infer import infer_features

        head = StreamSource.open(path).head(spec.stream.sample_rows)
        ignore = list(spec.ignore) + ([spec.split.column] if spec.split.column else [])
        _require_names(path, head.column_names, target_columns, "target")
        features = infer_features(head.to_pandas(), target_columns, base_dir=path.parent,
                                  ignore=ignore)
        if not features:
            raise DataError(f"{path}: no usable feature columns were found — declare "
                            f"data.features in the blueprint")
    for feature in features:
        if feature.type not in STREAMABLE:
            raise DataError(f"{path}: feature {feature.name!r} is {feature.type}, which "
                            f"cannot be streamed yet (streamed: {', '.join(STREAMABLE)}) — "
                            f"set data.streaming: false", where="data.streaming")
        if feature.name in target_columns:
            raise DataError(f"data.features: {feature.name!r} is also a target — a model "
                            f"cannot take its answer as input")
    return features


def _require(source: StreamSource, names: list[str], kind: str) -> None:
    _require_names(source.path, source.columns, names, kind)


def _require_names(path: Path, columns: list[str], names: list[str], kind: str) -> None:
    for name in names:
        if name not in columns:
            raise DataError(f"{path}: no {kind} column {name!r}{did_you_mean(name, columns)} "
                            f"(columns: {', '.join(columns[:15])})")


class FitPass:
    """The one pass of `prepare_streamed`: everything it learns about the rows."""

    def __init__(self, reader: BatchReader, sample_rows: int) -> None:
        self.reader = reader
        self.stats = TrainStatistics(reader.features, reader.targets)
        self.rows = [0, 0, 0]
        self.labels: list[Counter[str]] = [Counter(), Counter(), Counter()]
        self.missing: Counter[str] = Counter()
        self.batches = self.read = 0
        self.sketches = [BottomK(sample_rows) for _ in SPLIT_NAMES]
        self.samples: list[pa.Table] = []
        self.hashers = [hashlib.sha256() for _ in range(3)]  # keys, targets, splits

    def run(self) -> None:

        kept: list[pa.Table | None] = [None, None, None]
        label = next((t.source_columns[0] for t in self.reader.targets
                      if t.type == "classification"), None)
        for batch in self.reader:
            self.batches += 1
            self.read = batch.first
            self._fingerprint(batch)
            for code in range(3):
                mask = batch.splits == code
                if not mask.any():
                    continue
                self.rows[code] += int(mask.sum())
                columns = batch.select(mask)
                if code == TRAIN:
                    self.stats.update(columns)
                if label is not None:
                    self.labels[code].update(_counts(columns[label]))
                kept[code] = self._sample(code, kept[code], batch.rows[mask],
                                          batch.keys[mask], columns)
            self._count_missing(batch)
        if sum(self.rows) == 0:
            raise DataError(f"{self.reader.source.path}: no data rows left (rows need a "
                            f"target value) — check the file")
        self.samples = [t if t is not None else _empty(self.reader) for t in kept]

    def _sample(self, code: int, held: pa.Table | None, rows: np.ndarray, keys: np.ndarray,
                columns: dict[str, Any]) -> pa.Table:
        import pyarrow as pa

        # Priority: the row key mixed with the row number, so copies are sampled apart.
        old, new = self.sketches[code].offer(mix(keys ^ mix(rows.astype(np.uint64))))
        if not len(new) and held is not None and len(old) == held.num_rows:
            return held  # nothing entered: most batches, once the sample has filled
        index = pa.array(new)
        table = pa.table({n: pa.array(v[new]) if isinstance(v, np.ndarray) else v.take(index)
                          for n, v in columns.items()})
        parts = [t for t in (held.take(pa.array(old)) if held is not None else None, table)
                 if t is not None]
        return pa.concat_tables(parts).combine_chunks()

    def _fingerprint(self, batch: CleanBatch) -> None:
        # The row keys, the targets and the splits: hashing every value again would double
        # the pass; the file's size joins them in `fingerprint`.
        targets = row_keys(_key_table(batch, self.reader.target_columns),
                           self.reader.target_columns, 0)
        for hasher, part in zip(self.hashers, (batch.keys, targets, batch.splits),
                                strict=True):
            hasher.update(part.tobytes())  # one stream each: batch sizes do not matter

    def _count_missing(self, batch: CleanBatch) -> None:
        for feature in self.reader.features:
            values = batch.columns[feature.name]
            n = int(np.isnan(values).sum()) if isinstance(values, np.ndarray) else \
                values.null_count
            if n:
                self.missing[feature.name] += n

    def fingerprint(self, seed: int) -> str:
        digest = hashlib.sha256()
        for hasher in self.hashers:
            digest.update(hasher.digest())
        digest.update(f"{seed} {self.reader.source.path.stat().st_size}".encode())
        return digest.hexdigest()

    def checks(self) -> list[CheckResult]:
        """The checks table of a streamed run (see docs/streaming.md for what differs)."""
        reader, spec = self.reader, self.reader.blueprint.data
        counts = ", ".join(f"{n} {r}" for n, r in zip(SPLIT_NAMES, self.rows, strict=True))
        out = [CheckResult("schema", "ok",
                           f"{reader.source.path}: streamed in {self.batches} batches of "
                           f"≤{spec.stream.batch_rows} rows; {len(reader.features)} features; "
                           f"target: {', '.join(reader.target_columns)}"),
               CheckResult("split", "ok" if self.rows[TRAIN] else "error",
                           f"by row-key hash: {counts} rows")]
        if self.missing:
            listed = ", ".join(f"{k!r} ({v})" for k, v in self.missing.most_common(5))
            out.append(CheckResult("missing", "warning", f"missing values imputed: {listed}"))
        constant = [n for n, m in self.stats.moments.items() if m.count and m.low == m.high]
        constant += [n for n, c in self.stats.counts.items() if len(c) == 1]
        if constant:
            out.append(CheckResult("constant", "warning",
                                   f"{', '.join(repr(c) for c in constant)}: a single value "
                                   f"in every training row — no signal; remove it or add it "
                                   f"to data.ignore"))
        out.append(CheckResult(
            "duplicates", "warning" if spec.duplicates == "drop" else "ok",
            "rows with identical features share a row key, so each set of copies stays in "
            "one split" + (" — data.duplicates: drop cannot be honoured while streaming "
                           "(copies are kept, grouped)" if spec.duplicates == "drop" else "")))
        out += self._label_checks()
        return out

    def _label_checks(self) -> list[CheckResult]:
        train = self.labels[TRAIN]
        unseen = sorted({label for code in (1, 2) for label in self.labels[code]} - set(train))
        if unseen:
            return [CheckResult("split_labels", "error",
                                f"labels {unseen[:5]} appear in val/test but never in train — "
                                f"add rows with them, or drop them from the file")]
        if train and min(train.values()) * 10 < max(train.values()):
            return [CheckResult("classes", "warning",
                                f"imbalanced training classes: {dict(train.most_common())}")]
        return []


def _counts(values: Any) -> dict[str, int]:
    from kiln.data.stream_fit import value_counts

    return value_counts(values)


def _key_table(batch: CleanBatch, names: list[str]) -> pa.Table:
    import pyarrow as pa

    return pa.table({n: pa.array(v) if isinstance(v, np.ndarray) else v
                     for n, v in batch.columns.items() if n in names})


def _empty(reader: BatchReader) -> pa.Table:
    import pyarrow as pa

    names = [f.name for f in reader.features] + reader.target_columns
    fields = [pa.field(n, pa.float64() if n in reader.float_targets or any(
        f.name == n and f.type == "numeric" for f in reader.features) else pa.string())
        for n in dict.fromkeys(names)]
    return pa.schema(fields).empty_table()
