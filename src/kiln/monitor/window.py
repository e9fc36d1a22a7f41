"""A window of the prediction log, read column by column, in chunks.

SQLite extracts each input field from the logged JSON (`json_extract`) so that a million
rows are read without parsing a million JSON objects in Python, and each chunk is turned
into NumPy arrays (text and image fields straight into their summary statistics) before the
next is fetched, so memory holds arrays, not a million row tuples. Shadow answers are left
out; feedback labels come from the log's `feedback` table, or from a `request_id,label`
CSV (`labels_csv`), which wins where both have a label.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kiln import prediction_log
from kiln.bundle.profile import field_text
from kiln.data.transforms import TextTransform
from kiln.errors import DataError

CHUNK = 50_000  # rows fetched and converted at a time


@dataclass
class Window:
    """Live rows of one window, oldest first. `columns` holds one array per monitored
    series: numeric fields as float (NaN missing), categorical fields as objects (None
    missing), text fields as `name.length` / `name.oov_share` and image fields as
    `name.pixel_mean` / `name.pixel_std` floats. `request` is a hash of each row's request
    id when labels are joined from a CSV (0 otherwise; None in memory); `requests` counts the
    requests of the window (their record 0)."""

    since: float | None
    until: float | None
    ts: np.ndarray
    request: np.ndarray | None
    record: np.ndarray
    columns: dict[str, np.ndarray]
    prediction: np.ndarray
    confidence: np.ndarray
    ood: np.ndarray
    latency_ms: np.ndarray
    label: np.ndarray
    versions: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    requests: int = 0

    def __len__(self) -> int:
        return len(self.ts)


def read_window(log: str | Path, fields: Sequence[Mapping[str, Any]], *,
                since: float | None = None, until: float | None = None,
                labels_csv: str | Path | None = None,
                vocab: Mapping[str, Sequence[str]] | None = None) -> Window:
    """Rows of the log at `log` with `since <= ts < until` (either bound optional);
    `vocab`: text field → vocabulary, for the out-of-vocabulary share."""
    extra = read_labels(labels_csv) if labels_csv is not None else None
    conn = prediction_log.connect(log, create=False)
    reader = _Reader(fields, vocab or {})
    try:
        where, args = prediction_log._window(since, until, None, False)
        sql = ("SELECT p.id, p.ts, p.record, p.prediction, p.confidence, p.ood != '[]', "
               "p.latency_ms, f.label, " + ("p.request_id" if extra is not None else "NULL")
               + ", p.model, p.version"
               + "".join(f", {_extract(f)}" for f in fields)
               + " FROM predictions p LEFT JOIN feedback f ON f.request_id = p.request_id "
               f"AND f.record = p.record{where}")
        try:
            cursor = conn.execute(sql, args)
            while rows := cursor.fetchmany(CHUNK):
                reader.add(rows)
        except sqlite3.DatabaseError as exc:
            raise DataError(f"prediction log {log}: cannot be read ({exc})",
                            where=str(log)) from None
        errors = prediction_log.count_errors(conn, since=since, until=until)
    finally:
        conn.close()
    window = reader.window(since, until, errors)
    window.versions = {f"{m}:{v}": n for (m, v), n in reader.versions.items()}
    if extra is not None:
        window.label = _overlay(window, extra)
    return window


class _Reader:
    """Turns chunks of log rows into column arrays; `window()` joins them in time order."""

    def __init__(self, fields: Sequence[Mapping[str, Any]],
                 vocab: Mapping[str, Sequence[str]]) -> None:
        self.fields = fields
        self.vocab = vocab
        self.parts: list[dict[str, np.ndarray]] = []
        self.versions: Counter[tuple[str, str]] = Counter()
        self.interned: dict[Any, Any] = {}  # one str object per distinct category or label
        self.text_memo: dict[str, tuple[float, float]] = {}

    def add(self, rows: list[tuple[Any, ...]]) -> None:
        cols = list(zip(*rows, strict=True))
        self.versions.update(zip(cols[9], cols[10], strict=True))
        part = {"id": np.array(cols[0], dtype=np.int64), "ts": np.array(cols[1], np.float64),
                "record": np.array(cols[2], dtype=np.int64),
                "prediction": self._objects(cols[3]),
                "confidence": np.array(cols[4], dtype=np.float64),  # None → NaN
                "ood": np.array(cols[5], dtype=bool),
                "latency_ms": np.array(cols[6], dtype=np.float64),
                "label": self._objects(cols[7]),
                "request": np.array([0 if r is None else hash(r) for r in cols[8]],
                                    dtype=np.int64)}
        for f, column in zip(self.fields, cols[11:], strict=True):
            part.update(series_of(f, column, self))
        self.parts.append(part)

    def _objects(self, column: Sequence[Any]) -> np.ndarray:
        intern = self.interned.setdefault
        return np.array([None if v is None else intern(v, v) for v in column], dtype=object)

    def categories(self, column: Sequence[Any]) -> np.ndarray:
        intern = self.interned.setdefault
        return np.array([v if v is None else intern(v, v) if type(v) is str
                         else intern(field_text(v), field_text(v)) for v in column],
                        dtype=object)

    def window(self, since: float | None, until: float | None, errors: int) -> Window:
        keys = ["id", "ts", "request", "record", "prediction", "confidence", "ood",
                "latency_ms", "label"]
        names = [k for k in (self.parts[0] if self.parts else {}) if k not in keys]
        if not self.parts:
            empty = window_from_answers(self.fields, {f["name"]: [] for f in self.fields},
                                        np.zeros((0, 1)), ["-"])
            empty.since, empty.until, empty.errors = since, until, errors
            return empty
        joined = {k: np.concatenate([p[k] for p in self.parts]) for k in keys + names}
        self.parts.clear()
        order = np.lexsort((joined["id"], joined["ts"]))  # time order, then log order
        if not np.all(order[1:] > order[:-1]):
            joined = {k: v[order] for k, v in joined.items()}
        return Window(since, until, joined["ts"], joined["request"], joined["record"],
                      {k: joined[k] for k in names}, joined["prediction"],
                      joined["confidence"], joined["ood"], joined["latency_ms"],
                      joined["label"], {}, errors,
                      requests=int(np.count_nonzero(joined["record"] == 0)))


def series_of(f: Mapping[str, Any], column: Sequence[Any], reader: _Reader | None = None,
              ) -> dict[str, np.ndarray]:
    """The monitored arrays of one raw field's values (see `Window.columns`)."""
    reader = reader or _Reader([], {})
    name, kind = f["name"], f["type"]
    if kind == "numeric":
        try:
            return {name: np.array(column, dtype=np.float64)}  # None → NaN
        except (TypeError, ValueError):
            return {name: np.array([v if isinstance(v, (int, float)) else np.nan
                                    for v in column], dtype=np.float64)}
    if kind in ("categorical", "binary"):
        return {name: reader.categories(column)}
    if kind == "text":
        lengths, oov = text_statistics(column, reader.vocab.get(name), reader.text_memo)
        return {f"{name}.length": lengths, f"{name}.oov_share": oov}
    means, stds = image_statistics(column)
    return {f"{name}.pixel_mean": means, f"{name}.pixel_std": stds}


def text_statistics(texts: Sequence[Any], vocab: Sequence[str] | None,
                    memo: dict[str, tuple[float, float]] | None = None,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Per text: its length in tokens (the model's tokeniser) and the share of its tokens
    outside `vocab` (NaN without a vocabulary or tokens). A repeated text is done once."""
    words = frozenset(vocab or ())
    memo = {} if memo is None else memo
    out = np.full((len(texts), 2), np.nan)
    for i, text in enumerate(texts):
        if text is None:
            continue
        key = str(text)
        stats = memo.get(key)
        if stats is None:
            tokens = TextTransform.tokens(key)
            share = sum(t not in words for t in tokens) / len(tokens) \
                if tokens and words else np.nan
            stats = memo[key] = (float(len(tokens)), share)
            if len(memo) > 100_000:
                memo.clear()
        out[i] = stats
    return out[:, 0], out[:, 1]


def image_statistics(column: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Per-image raw pixel mean and standard deviation (NaN where not pixel values)."""
    means = np.full(len(column), np.nan)
    stds = np.full(len(column), np.nan)
    for i, value in enumerate(column):
        if isinstance(value, str) and value.startswith("["):
            value = json.loads(value)
        if isinstance(value, (list, np.ndarray)):
            pixels = np.asarray(value, dtype=np.float64)
            means[i], stds[i] = pixels.mean(), pixels.std()
    return means, stds


def window_from_answers(fields: Sequence[Mapping[str, Any]],
                        columns: Mapping[str, Sequence[Any]],
                        probabilities: np.ndarray | None = None,
                        labels: Sequence[str] | None = None, *,
                        values: np.ndarray | None = None,
                        truth: Sequence[Any] | None = None,
                        ts: np.ndarray | None = None,
                        vocab: Mapping[str, Sequence[str]] | None = None) -> Window:
    """A window built in memory from raw columns and the first head's decoded outputs
    (`probabilities` with class `labels`, or regression `values`), as a service holding
    recent answers would build it; `truth` are known labels (None where unknown)."""
    n = len(next(iter(columns.values()))) if columns else 0
    if probabilities is not None:
        names = np.asarray(list(labels or range(probabilities.shape[1])), dtype=object)
        prediction = names[np.asarray(probabilities).argmax(axis=1)] if n else names[:0]
        confidence = np.asarray(probabilities, dtype=np.float64).max(axis=1) if n \
            else np.zeros(0)
    else:
        flat = np.asarray(values, dtype=np.float64).reshape(n, -1)[:, 0]
        prediction, confidence = np.array([repr(float(v)) for v in flat]), np.full(n, np.nan)
    reader = _Reader(fields, vocab or {})
    series: dict[str, np.ndarray] = {}
    for f in fields:
        series.update(series_of(f, list(columns[f["name"]]), reader))
    return Window(None, None, np.arange(n, dtype=np.float64) if ts is None else ts,
                  None, np.zeros(n, np.int64), series,
                  np.asarray(prediction, dtype=object), confidence, np.zeros(n, dtype=bool),
                  np.zeros(n),
                  np.array(list(truth) if truth is not None else [None] * n, dtype=object),
                  requests=n)


def _extract(f: Mapping[str, Any]) -> str:
    path = "'$.\"" + str(f["name"]).replace("'", "''").replace('"', '\\"') + "\"'"
    if f["type"] == "binary":  # JSON true/false as the profile spells them
        return (f"CASE json_type(p.inputs, {path}) WHEN 'true' THEN 'true' WHEN 'false' "
                f"THEN 'false' ELSE json_extract(p.inputs, {path}) END")
    return f"json_extract(p.inputs, {path})"


def read_labels(path: str | Path) -> dict[tuple[str, int], str]:
    """`request_id,label[,record]` rows → {(request_id, record): label}."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"labels {path}: no such file — pass a CSV with columns "
                        f"request_id,label", where=str(path))
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        missing = {"request_id", "label"} - set(reader.fieldnames or [])
        if missing:
            raise DataError(f"labels {path}: no column {', '.join(sorted(missing))} — the "
                            f"header must name request_id and label (record optional)",
                            where=str(path))
        out: dict[tuple[str, int], str] = {}
        for line, row in enumerate(reader, start=2):
            try:
                record = int(row.get("record") or 0)
            except ValueError:
                raise DataError(f"labels {path}, line {line}: record {row['record']!r} is "
                                f"not an integer", where=f"{path}:{line}") from None
            out[(row["request_id"], record)] = row["label"]
    return out


def _overlay(window: Window, extra: Mapping[tuple[str, int], str]) -> np.ndarray:
    """The window's labels with those of `extra` (keyed by request id and record) on top."""
    by_key = {(hash(rid), rec): label for (rid, rec), label in extra.items()}
    out = window.label.copy()
    assert window.request is not None
    for i, key in enumerate(zip(window.request.tolist(), window.record.tolist(),
                                strict=True)):
        label = by_key.get(key)
        if label is not None:
            out[i] = label
    return out
