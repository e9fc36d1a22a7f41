"""A CSV or Parquet file read in record batches through `pyarrow.dataset`.

Peak memory is a few record batches (`batch_rows` rows of the columns asked for), never
the file: batches are decoded one at a time with a read-ahead of one. Every batch comes
with the position of its first row, so an error names the file, the row (the line, for
CSV), the batch and the column — and what to do about it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds

STREAM_SUFFIXES = {".csv": "csv", ".tsv": "csv", ".parquet": "parquet", ".pq": "parquet"}
_CSV_ERROR = re.compile(r"CSV column #(\d+): Row #(\d+): (.*)")


@dataclass
class StreamSource:
    """One table file, opened lazily: `schema` and `batches` read only what they need."""

    path: Path
    kind: str  # "csv" or "parquet"
    dataset: ds.Dataset

    @classmethod
    def open(cls, path: Path, numeric: list[str] | None = None,
             text: list[str] | None = None) -> StreamSource:
        """Open `path`; for CSV, `numeric` columns are read as float64 and `text` ones as
        strings (so "007" stays "007"). Raises `DataError` for an unreadable file."""
        import pyarrow as pa
        import pyarrow.dataset as ds

        kind = STREAM_SUFFIXES.get(path.suffix.lower())
        if kind is None:
            raise DataError(f"{path}: only .csv, .tsv and .parquet files can be streamed — "
                            f"set data.streaming: false for other sources",
                            where="data.streaming")
        file_format: Any = "parquet"
        if kind == "csv":
            import pyarrow.csv as csv

            types = {n: pa.float64() for n in numeric or []}
            types.update({n: pa.string() for n in text or []})
            file_format = ds.CsvFileFormat(
                parse_options=csv.ParseOptions(
                    delimiter="\t" if path.suffix.lower() == ".tsv" else ","),
                convert_options=csv.ConvertOptions(column_types=types))
        try:
            dataset = ds.dataset(str(path), format=file_format)
        except (pa.ArrowInvalid, OSError) as exc:
            raise _read_error(path, kind, exc, None, _header(path) if kind == "csv" else [],
                              None) from None
        return cls(path, kind, dataset)

    @property
    def columns(self) -> list[str]:
        return list(self.dataset.schema.names)

    def batches(self, columns: list[str], batch_rows: int
                ) -> Iterator[tuple[int, pa.RecordBatch]]:
        """(first row, 0-based, of the batch; the batch) over the whole file, in file order."""
        import pyarrow as pa

        first, number = 0, 0
        iterator = self._scan(columns, batch_rows)
        while True:
            try:
                batch = next(iterator)
            except StopIteration:
                return
            except (pa.ArrowInvalid, OSError) as exc:
                raise _read_error(self.path, self.kind, exc, number, self.columns,
                                  first) from None
            number += 1
            if batch.num_rows:
                yield first, batch
                first += batch.num_rows

    def _scan(self, columns: list[str], batch_rows: int) -> Iterator[pa.RecordBatch]:
        """Parquet one row group at a time: a whole-file scanner reads ahead as fast as it
        can decode, which holds most of a large file in memory when training is slower."""
        options: dict[str, Any] = {"columns": columns, "batch_size": batch_rows,
                                   "batch_readahead": 1, "fragment_readahead": 1,
                                   "use_threads": True}
        if self.kind != "parquet":
            yield from self.dataset.to_batches(**options)
            return
        for fragment in self.dataset.get_fragments():
            for piece in fragment.split_by_row_group():
                yield from piece.to_batches(**options)

    def head(self, rows: int, columns: list[str] | None = None) -> pa.Table:
        """The first `rows` rows (feature inference looks at them)."""
        import pyarrow as pa

        parts, count = [], 0
        try:
            for batch in self._scan(columns or self.columns, rows):
                parts.append(batch)
                count += batch.num_rows
                if count >= rows:
                    break
            schema = pa.schema([self.dataset.schema.field(c) for c in columns or self.columns])
            return pa.Table.from_batches(parts, schema=schema).slice(0, rows)
        except (pa.ArrowInvalid, OSError) as exc:
            raise _read_error(self.path, self.kind, exc, 0, self.columns, 0) from None

    def where(self, row: int) -> str:
        """`file, row R (line L)` for a 0-based row number: what messages cite."""
        place = f"{self.path}, row {row + 1}"
        if self.kind == "csv":
            place += f" (line {row + 2})"
        return place


def _header(path: Path) -> list[str]:
    """The column names on a CSV file's first line (to name a column in an error)."""
    import csv

    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
        return next(csv.reader(handle, delimiter=delimiter), [])


def _read_error(path: Path, kind: str, exc: Exception, batch: int | None,
                columns: list[str], first: int | None) -> DataError:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    match = _CSV_ERROR.search(text)
    if kind == "csv" and match:
        index, line, problem = int(match.group(1)), int(match.group(2)), match.group(3)
        name = columns[index] if index < len(columns) else f"#{index + 1}"
        return DataError(f"{path}, line {line} (row {line - 1}), column {name!r}: {problem} "
                         f"— fix the value, or declare the feature type: categorical",
                         where=name)
    within = f", batch {batch + 1} (from row {(first or 0) + 1})" if batch is not None else ""
    return DataError(f"{path}{within}: not a readable {kind.upper()} file ({text}) — check "
                     f"the file, or set data.streaming: false to read it with pandas")


def numeric_values(source: StreamSource, batch: pa.RecordBatch, name: str, first: int,
                   number: int) -> np.ndarray:
    """A numeric feature's values in a batch as float64 (missing → NaN). A value that is
    not a number is a `DataError` naming file, row, batch and column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    column = batch.column(name)
    kind = column.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        return np.asarray(pc.cast(column, pa.float64()).to_numpy(zero_copy_only=False),
                          dtype=np.float64)
    values = column.to_pylist()
    out = np.full(len(values), np.nan)
    for row, value in enumerate(values):
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        try:
            out[row] = float(value)
        except (TypeError, ValueError):
            raise DataError(f"{source.where(first + row)}, batch {number}, column {name!r}: "
                            f"{value!r} is not a number — the feature is numeric; fix the "
                            f"value or declare type: categorical", where=name) from None
    return out
