"""A window of the prediction log, read column by column.

SQLite extracts each input field from the logged JSON (`json_extract`) so that a million
rows are read without parsing a million JSON objects in Python. Shadow answers are left
out; feedback labels come from the log's `feedback` table, or from a `request_id,label`
CSV (`labels_csv`), which wins where both have a label.
"""

from __future__ import annotations

import csv
import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kiln import prediction_log
from kiln.bundle.profile import field_text
from kiln.errors import DataError


@dataclass
class Window:
    """Live rows of one window, oldest first. `columns` holds one array per monitored
    series: numeric fields as float (NaN missing), categorical and text fields as objects
    (None missing), image fields as `name.pixel_mean` / `name.pixel_std` floats."""

    since: float | None
    until: float | None
    ts: np.ndarray
    request_id: np.ndarray
    record: np.ndarray
    columns: dict[str, np.ndarray]
    prediction: np.ndarray
    confidence: np.ndarray
    ood: np.ndarray
    latency_ms: np.ndarray
    label: np.ndarray
    versions: dict[str, int] = field(default_factory=dict)
    errors: int = 0

    def __len__(self) -> int:
        return len(self.ts)


def read_window(log: str | Path, fields: Sequence[Mapping[str, Any]], *,
                since: float | None = None, until: float | None = None,
                labels_csv: str | Path | None = None) -> Window:
    """Rows of the log at `log` with `since <= ts < until` (either bound optional)."""
    conn = prediction_log.connect(log, create=False)
    try:
        where, args = prediction_log._window(since, until, None, False)
        extracts = [_extract(f) for f in fields]
        sql = ("SELECT p.ts, p.request_id, p.record, p.prediction, p.confidence, "
               "p.ood != '[]', p.latency_ms, f.label, p.model || ':' || p.version"
               + "".join(f", {e}" for e in extracts)
               + " FROM predictions p LEFT JOIN feedback f ON f.request_id = p.request_id "
               f"AND f.record = p.record{where} ORDER BY p.ts, p.id")
        try:
            rows = conn.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            raise DataError(f"prediction log {log}: cannot be read ({exc})",
                            where=str(log)) from None
        errors = prediction_log.count_errors(conn, since=since, until=until)
    finally:
        conn.close()
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in range(9 + len(fields))]
    label = np.array(columns[7], dtype=object)
    if labels_csv is not None:
        label = _overlay(label, columns[1], columns[2], read_labels(labels_csv))
    versions: dict[str, int] = {}
    for v in columns[8]:
        versions[v] = versions.get(v, 0) + 1
    return Window(
        since, until, np.array(columns[0], dtype=np.float64),
        np.array(columns[1], dtype=object), np.array(columns[2], dtype=np.int64),
        _series(fields, columns[9:]), np.array(columns[3], dtype=object),
        np.array([np.nan if c is None else c for c in columns[4]], dtype=np.float64),
        np.array(columns[5], dtype=bool), np.array(columns[6], dtype=np.float64),
        label, versions, errors)


def window_from_answers(fields: Sequence[Mapping[str, Any]],
                        columns: Mapping[str, Sequence[Any]],
                        probabilities: np.ndarray | None = None,
                        labels: Sequence[str] | None = None, *,
                        values: np.ndarray | None = None,
                        truth: Sequence[Any] | None = None,
                        ts: np.ndarray | None = None) -> Window:
    """A window built in memory from raw columns and the first head's decoded outputs
    (`probabilities` with class `labels`, or regression `values`), as a service holding
    recent answers would build it; `truth` are known labels (None where unknown)."""
    n = len(next(iter(columns.values())))
    if probabilities is not None:
        names = np.asarray(list(labels or range(probabilities.shape[1])), dtype=object)
        prediction = names[np.asarray(probabilities).argmax(axis=1)].astype(str)
        confidence = np.asarray(probabilities, dtype=np.float64).max(axis=1)
    else:
        flat = np.asarray(values, dtype=np.float64).reshape(n, -1)[:, 0]
        prediction, confidence = np.array([repr(float(v)) for v in flat]), np.full(n, np.nan)
    raw = []
    for f in fields:
        column = list(columns[f["name"]])
        if f["type"] == "image":
            column = [json.dumps(np.asarray(v).tolist()) if v is not None else None
                      for v in column]
        raw.append(column)
    return Window(None, None, np.arange(n, dtype=np.float64) if ts is None else ts,
                  np.array([f"m{i}" for i in range(n)], dtype=object), np.zeros(n, np.int64),
                  _series(fields, raw), np.asarray(prediction, dtype=object), confidence,
                  np.zeros(n, dtype=bool), np.zeros(n),
                  np.array(list(truth) if truth is not None else [None] * n, dtype=object))


def _extract(f: Mapping[str, Any]) -> str:
    path = "'$.\"" + str(f["name"]).replace("'", "''").replace('"', '\\"') + "\"'"
    if f["type"] in ("categorical", "binary"):  # JSON true/false as the profile spells them
        return (f"CASE json_type(p.inputs, {path}) WHEN 'true' THEN 'true' WHEN 'false' "
                f"THEN 'false' ELSE json_extract(p.inputs, {path}) END")
    return f"json_extract(p.inputs, {path})"


def _series(fields: Sequence[Mapping[str, Any]],
            values: Sequence[Sequence[Any]]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for f, column in zip(fields, values, strict=True):
        name, kind = f["name"], f["type"]
        if kind == "numeric":
            out[name] = np.array([v if isinstance(v, (int, float)) else np.nan
                                  for v in column], dtype=np.float64)
        elif kind in ("categorical", "binary"):
            out[name] = np.array([None if v is None else field_text(v) for v in column],
                                 dtype=object)
        elif kind == "text":
            out[name] = np.array([None if v is None else str(v) for v in column],
                                 dtype=object)
        else:
            means, stds = image_statistics(column)
            out[f"{name}.pixel_mean"], out[f"{name}.pixel_std"] = means, stds
    return out


def image_statistics(column: Sequence[Any]) -> tuple[np.ndarray, np.ndarray]:
    """Per-image raw pixel mean and standard deviation (NaN where not pixel values)."""
    means = np.full(len(column), np.nan)
    stds = np.full(len(column), np.nan)
    for i, value in enumerate(column):
        if isinstance(value, str) and value.startswith("["):
            pixels = np.asarray(json.loads(value), dtype=np.float64)
            means[i], stds[i] = pixels.mean(), pixels.std()
    return means, stds


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


def _overlay(label: np.ndarray, request_ids: Sequence[str], records: Sequence[int],
             extra: Mapping[tuple[str, int], str]) -> np.ndarray:
    out = label.copy()
    for i, key in enumerate(zip(request_ids, records, strict=True)):
        if key in extra:
            out[i] = extra[key]
    return out
