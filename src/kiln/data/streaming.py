"""Data larger than memory: a CSV or Parquet source streamed in record batches.

`prepare_data` hands over to `prepare_streamed` when `data.streaming` is true (or `auto`
and the file is at least `AUTO_STREAM_BYTES`). The result, `StreamedData`, is a
`PreparedData` whose `train` / `val` / `test` hold a bounded uniform *sample* of each
split (what the bundle's profile, class weights and checks read) and whose `streams`
reach every row of each split, batch by batch (what training and its evaluation read):

    head sample → features (declared, or inferred from the first rows)
    one pass    → row keys and splits (kiln.data.rowkey), statistics of the training rows
                  (kiln.data.stream_fit), counts per split, the row samples, fingerprint
    fit         → the same `Preprocessor` (JSON) as in memory
    later       → `SplitStream.batches()` re-reads the file for every epoch / evaluation

Memory: `data.stream.batch_rows` + `shuffle_window` + 3 × `sample_rows` rows at most.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kiln.blueprint.stream_spec import AUTO_STREAM_BYTES
from kiln.data.prepared import PreparedData
from kiln.data.stream_batches import BatchReader, CleanBatch, encode
from kiln.data.stream_fit import STREAMABLE
from kiln.data.stream_source import STREAM_SUFFIXES
from kiln.errors import DataError

if TYPE_CHECKING:
    from kiln.blueprint.schema import Blueprint
    from kiln.data.preprocessing import Preprocessor

Arrays = tuple[dict[str, np.ndarray], dict[str, np.ndarray]]


def streaming_source(blueprint: Blueprint, source: str | Path | None = None) -> Path | None:
    """The file to stream, or None to load the data in memory. `data.streaming: true` on
    a source that cannot be streamed is a `DataError`; `auto` streams CSV / Parquet files
    of `AUTO_STREAM_BYTES` and more whose declared features are all streamable and whose
    split is not by time."""
    spec = blueprint.data
    text = str(spec.source if source is None else source)
    if spec.streaming is False or text.startswith("sklearn:"):
        if spec.streaming is True:
            raise DataError(f"{text}: only .csv, .tsv and .parquet files can be streamed — "
                            f"set data.streaming: false", where="data.streaming")
        return None
    path = blueprint.resolve(text) if source is None else Path(text).expanduser()
    if spec.streaming is True:
        if not path.is_file():
            raise DataError(f"{path}: no such file — data.streaming needs a .csv, .tsv or "
                            f".parquet file", where="data.source")
        return path
    streamable = (path.is_file() and path.suffix.lower() in STREAM_SUFFIXES
                  and spec.split.method != "time"
                  and all(f.type in STREAMABLE for f in spec.features or []))
    return path if streamable and path.stat().st_size >= AUTO_STREAM_BYTES else None


@dataclass
class SplitStream:
    """Every row of one split, re-read from the file on each iteration."""

    name: str
    code: int  # TRAIN / VAL / TEST
    reader: BatchReader
    preprocessor: Preprocessor
    rows: int

    def __len__(self) -> int:
        return self.rows

    def arrays(self, shard: tuple[int, int] = (0, 1)) -> Iterator[Arrays]:
        """(inputs, targets) of this split's rows in each record batch, in file order.
        `shard=(rank, world)` keeps the rows whose key is rank modulo world: disjoint
        shards that cover the split, for data-parallel training."""
        rank, world = shard
        for batch in self.reader:
            mask = batch.splits == self.code
            if world > 1:
                mask &= batch.keys % np.uint64(world) == np.uint64(rank)
            if mask.any():
                yield self._encode(batch, mask)

    def _encode(self, batch: CleanBatch, mask: np.ndarray) -> Arrays:
        context = f"{self.reader.source.path}, batch {batch.number} (from row {batch.first + 1})"
        return encode(self.preprocessor, batch.select(mask), context)

    def batches(self, batch_size: int, *, seed: int, epoch: int, window: int,
                shard: tuple[int, int] = (0, 1)) -> Iterator[Arrays]:
        """Training batches, shuffled within a window of `window` rows by a generator seeded
        with (seed, epoch): the same order in every run, and on resume. A last batch of one
        row is dropped (batch normalisation cannot train on one sample), as in memory."""
        rng = np.random.default_rng([seed, epoch])
        held: list[Arrays] = []
        count = 0
        for part in self.arrays(shard):
            held.append(part)
            count += len(next(iter(part[1].values())))
            if count >= window:
                rest = yield from _drain(held, rng, batch_size, final=False)
                held, count = [rest] if rest else [], _rows(rest)
        if held:
            yield from _drain(held, rng, batch_size, final=True, total=self.rows)


def split_arrays(streams: list[SplitStream], keep_rows: int
                 ) -> Iterator[tuple[str, Arrays, np.ndarray]]:
    """(split name, its rows' arrays, which of them to keep) for every record batch and
    each of `streams`, in one pass over the file (the streams of one `StreamedData` share
    their reader). A split of more than `keep_rows` rows keeps a uniform subset of about
    that many, chosen by row key (the same rows in every pass)."""
    from kiln.data.rowkey import unit

    reader = streams[0].reader
    share = {s.name: min(1.0, keep_rows / max(len(s), 1)) for s in streams}
    for batch in reader:
        for stream in streams:
            mask = batch.splits == stream.code
            if mask.any():
                keep = unit(batch.keys[mask], salt=2) < share[stream.name]
                yield stream.name, stream._encode(batch, mask), keep


def _rows(part: Arrays | None) -> int:
    return len(next(iter(part[1].values()))) if part else 0


def _drain(held: list[Arrays], rng: np.random.Generator, size: int, *, final: bool,
           total: int = 0) -> Generator[Arrays, None, Arrays | None]:
    """Shuffle the held rows and yield full batches; returns the remainder (None at the
    end), which starts the next window."""
    inputs = {k: np.concatenate([p[0][k] for p in held]) for k in held[0][0]}
    targets = {k: np.concatenate([p[1][k] for p in held]) for k in held[0][1]}
    n = _rows((inputs, targets))
    order = rng.permutation(n)
    stop = n if final else n - n % size
    for start in range(0, stop, size):
        index = order[start:start + size]
        if len(index) > 1 or total == 1:
            yield ({k: v[index] for k, v in inputs.items()},
                   {k: v[index] for k, v in targets.items()})
    if final or stop == n:
        return None
    rest = order[stop:]
    return ({k: v[rest] for k, v in inputs.items()}, {k: v[rest] for k, v in targets.items()})


@dataclass
class StreamedData(PreparedData):
    """`PreparedData` of a streamed table: `train` / `val` / `test` are row samples (at
    most `data.stream.sample_rows` each); `streams` reach every row of each split."""

    streams: dict[str, SplitStream] = field(default_factory=dict)
    streamed: bool = True
