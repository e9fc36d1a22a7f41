"""The prediction log: what the service answered, and the ground truth that came later.

One SQLite file (WAL mode, so the service appends while `kiln monitor` and `kiln retrain`
read). It is the contract between three stages: `kiln serve` writes `predictions` (in
batches, off the request path) and `feedback` (from `POST /feedback`); `kiln monitor` reads
windows of both; `kiln retrain` turns labelled rows into training data. Standard library
only — no NumPy, torch or pandas — so any stage, and any script, can read it.

Tables (one row per answered *record*, not per request):

    predictions(id, request_id, record, ts, model, version, inputs, outputs, prediction,
                confidence, ood, latency_ms, shadow)
    feedback(request_id, record, label, ts)        -- joins predictions on (request_id, record)
    errors(ts, request_id, status, kind)           -- requests answered with an error

`inputs` is the record as the client sent it (JSON object, field → value); `outputs` the
answer per head (JSON, as `Bundle.predict` returns it); `prediction` the first head's label
or value as text; `confidence` the first classification head's largest probability (NULL
for regression); `ood` a JSON list of reasons ([] when in distribution); `shadow` is 1 for
a shadow model's answer to the same record.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiln.errors import DataError

SCHEMA = """
CREATE TABLE IF NOT EXISTS predictions (
    id INTEGER PRIMARY KEY,
    request_id TEXT NOT NULL,
    record INTEGER NOT NULL,
    ts REAL NOT NULL,
    model TEXT NOT NULL,
    version TEXT NOT NULL,
    inputs TEXT NOT NULL,
    outputs TEXT NOT NULL,
    prediction TEXT,
    confidence REAL,
    ood TEXT NOT NULL DEFAULT '[]',
    latency_ms REAL NOT NULL,
    shadow INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS predictions_request ON predictions (request_id, record);
CREATE INDEX IF NOT EXISTS predictions_ts ON predictions (ts);
CREATE TABLE IF NOT EXISTS feedback (
    request_id TEXT NOT NULL,
    record INTEGER NOT NULL,
    label TEXT NOT NULL,
    ts REAL NOT NULL,
    PRIMARY KEY (request_id, record)
);
CREATE TABLE IF NOT EXISTS errors (
    ts REAL NOT NULL,
    request_id TEXT,
    status INTEGER NOT NULL,
    kind TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS errors_ts ON errors (ts);
"""
COLUMNS = ("request_id", "record", "ts", "model", "version", "inputs", "outputs",
           "prediction", "confidence", "ood", "latency_ms", "shadow")
INSERT = (f"INSERT INTO predictions ({', '.join(COLUMNS)}) "
          f"VALUES ({', '.join('?' for _ in COLUMNS)})")


@dataclass(frozen=True)
class LoggedPrediction:
    """One answered record, as `kiln monitor` reads it back (JSON columns parsed)."""

    request_id: str
    record: int
    ts: float
    model: str
    version: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    prediction: str | None
    confidence: float | None
    ood: list[str]
    latency_ms: float
    shadow: bool
    label: str | None  # the feedback label, None until it arrives


def connect(path: str | Path, *, create: bool = True) -> sqlite3.Connection:
    """Open (and, with `create`, initialise) the log at `path` in WAL mode.

    Raises `DataError` when the file is missing (with `create=False`) or is not a kiln
    prediction log.
    """
    path = Path(path)
    if not create and not path.is_file():
        raise DataError(f"prediction log {path}: no such file — start `kiln serve --log "
                        f"{path}` or pass the log the service writes", where=str(path))
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=30.0, check_same_thread=False)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable across app crashes
        if create:
            conn.executescript(SCHEMA)
        else:
            conn.execute("SELECT 1 FROM predictions LIMIT 1")
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise DataError(f"prediction log {path}: not a kiln prediction log ({exc})",
                        where=str(path)) from None
    return conn


def append(conn: sqlite3.Connection, rows: Iterable[Sequence[Any]]) -> int:
    """Insert rows (tuples in `COLUMNS` order) in one transaction; returns how many.
    `rows` is consumed one at a time (not listed first): SQLite releases the GIL at every
    row, so a writer thread never holds it for the whole batch."""
    count = 0

    def counted() -> Iterator[Sequence[Any]]:
        nonlocal count
        for one in rows:
            count += 1
            yield one

    with conn:
        conn.executemany(INSERT, counted())
    return count


def row(*, request_id: str, record: int, model: str, version: str, inputs: Any,
        outputs: Any, prediction: str | None, confidence: float | None,
        ood: Sequence[str], latency_ms: float, ts: float | None = None,
        shadow: bool = False) -> tuple[Any, ...]:
    """One `predictions` row in `COLUMNS` order, JSON columns encoded."""
    return (request_id, record, time.time() if ts is None else ts, model, version,
            json.dumps(inputs, separators=(",", ":"), default=_plain),
            json.dumps(outputs, separators=(",", ":"), default=_plain),
            prediction, confidence, json.dumps(list(ood)), latency_ms, int(shadow))


def add_feedback(conn: sqlite3.Connection, request_id: str, labels: Sequence[Any],
                 *, ts: float | None = None) -> bool:
    """Store delayed ground truth for every record of `request_id`, in order.

    Returns False (and stores nothing) when the log has no such request; raises
    `DataError` when the number of labels differs from the number of records answered.
    A label sent again for the same record replaces the earlier one.
    """
    found = conn.execute("SELECT COUNT(*) FROM predictions WHERE request_id = ? "
                         "AND shadow = 0", (request_id,)).fetchone()[0]
    if found == 0:
        return False
    if found != len(labels):
        raise DataError(f"feedback for request {request_id}: {len(labels)} labels for "
                        f"{found} records — send one label per record, in order",
                        where="labels")
    stamp = time.time() if ts is None else ts
    with conn:
        conn.executemany("INSERT OR REPLACE INTO feedback (request_id, record, label, ts) "
                         "VALUES (?, ?, ?, ?)",
                         [(request_id, i, _label_text(v), stamp)
                          for i, v in enumerate(labels)])
    return True


def add_error(conn: sqlite3.Connection, *, status: int, kind: str,
              request_id: str | None = None, ts: float | None = None) -> None:
    """Record one request answered with an error (HTTP `status`, the error's `kind`)."""
    with conn:
        conn.execute("INSERT INTO errors (ts, request_id, status, kind) VALUES (?, ?, ?, ?)",
                     (time.time() if ts is None else ts, request_id, status, kind))


def count_errors(conn: sqlite3.Connection, *, since: float | None = None,
                 until: float | None = None) -> int:
    """Requests answered with an error in the window (0 for a log without the table)."""
    where, args = _window(since, until, None, None)
    try:
        return int(conn.execute(f"SELECT COUNT(*) FROM errors p{where}", args).fetchone()[0])
    except sqlite3.OperationalError:  # a log written before the errors table existed
        return 0


def read(conn: sqlite3.Connection, *, since: float | None = None, until: float | None = None,
         model: str | None = None, shadow: bool | None = False,
         limit: int | None = None) -> Iterator[LoggedPrediction]:
    """Logged predictions in time order, joined with their feedback label when any."""
    where, args = _window(since, until, model, shadow)
    sql = ("SELECT p.request_id, p.record, p.ts, p.model, p.version, p.inputs, p.outputs, "
           "p.prediction, p.confidence, p.ood, p.latency_ms, p.shadow, f.label "
           "FROM predictions p LEFT JOIN feedback f "
           "ON f.request_id = p.request_id AND f.record = p.record"
           f"{where} ORDER BY p.ts, p.id" + (f" LIMIT {int(limit)}" if limit else ""))
    for r in conn.execute(sql, args):
        yield LoggedPrediction(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]),
                               json.loads(r[6]), r[7], r[8], json.loads(r[9]), r[10],
                               bool(r[11]), r[12])


def count(conn: sqlite3.Connection, *, since: float | None = None, until: float | None = None,
          model: str | None = None, shadow: bool | None = False) -> int:
    where, args = _window(since, until, model, shadow)
    return int(conn.execute(f"SELECT COUNT(*) FROM predictions p{where}", args).fetchone()[0])


def _window(since: float | None, until: float | None, model: str | None,
            shadow: bool | None) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if since is not None:
        clauses.append("p.ts >= ?")
        args.append(since)
    if until is not None:
        clauses.append("p.ts < ?")
        args.append(until)
    if model is not None:
        clauses.append("p.model = ?")
        args.append(model)
    if shadow is not None:
        clauses.append("p.shadow = ?")
        args.append(int(shadow))
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def _label_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _plain(value: Any) -> Any:
    """JSON fallback for NumPy scalars and arrays inside logged records."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, bytes):
        return f"<{len(value)} bytes>"
    return str(value)
