"""The prediction-log writer: answered records go to SQLite in batches, off the request path.

The request path only puts its records on an in-memory queue; one thread wakes every
`flush_ms`, turns what is queued into `kiln.prediction_log` rows and appends them in one
transaction (at most `BATCH` rows per transaction). WAL mode lets `kiln monitor` read meanwhile.

What a crash loses: the rows still in memory — at most the last `flush_ms` of answers, plus
the ones of a write in progress. A clean stop (SIGTERM, `close`) writes everything first.
With `--workers N` each worker process has its own writer on the same file: SQLite's
WAL lock serialises their short transactions, and no process depends on another.
"""

from __future__ import annotations

import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from kiln import prediction_log

BATCH = 2000  # rows per transaction at most
log = logging.getLogger("kiln.serve")


class PredictionLogWriter:
    """A background thread appending answered records to the prediction log."""

    def __init__(self, path: str | Path, *, flush_ms: float,
                 on_write: Callable[[int], None] | None = None) -> None:
        self.path = Path(path)
        self.flush = flush_ms / 1000.0
        self.on_write = on_write
        self.written = 0
        self.enqueued = 0
        self._processed = 0
        self._done = threading.Condition()
        self._backlog = False
        self._queue: queue.SimpleQueue[list[dict[str, Any]] | None] = queue.SimpleQueue()
        self._errors: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        prediction_log.connect(self.path).close()  # fail at start-up, not on the first write
        self._thread = threading.Thread(target=self._loop, name="kiln-log", daemon=True)
        self._thread.start()

    def add(self, entries: list[dict[str, Any]]) -> None:
        """Queue one request's answered records: each the keyword arguments of
        `prediction_log.row`. Never blocks and never wakes the writer (it polls)."""
        self.enqueued += len(entries)  # only the event-loop thread adds
        self._queue.put(entries)

    def add_error(self, *, status: int, kind: str, request_id: str | None) -> None:
        """Queue one request answered with an error (`prediction_log.add_error`)."""
        self._errors.put({"status": status, "kind": kind, "request_id": request_id,
                          "ts": time.time()})

    def wait_processed(self, target: int, timeout: float) -> bool:
        """Block until the first `target` rows added are written (or failed); False on
        timeout. `/feedback` waits so that it finds the request it was just told about."""
        with self._done:
            return self._done.wait_for(lambda: self._processed >= target, timeout)

    @property
    def pending(self) -> int:
        return self.enqueued - self._processed

    def close(self) -> None:
        """Write every queued row, then stop the thread."""
        self._queue.put(None)
        self._thread.join()

    def connection(self) -> sqlite3.Connection:
        """A new connection to the log (for /feedback): SQLite connections are per thread."""
        return prediction_log.connect(self.path)

    def _loop(self) -> None:
        conn = prediction_log.connect(self.path)
        try:
            done = False
            while not done:
                entries, done = self._collect()
                if entries:
                    self._write(conn, entries)
                self._write_errors(conn)
        finally:
            conn.close()

    def _collect(self) -> tuple[list[dict[str, Any]], bool]:
        """Sleep one flush interval, then take everything queued; True at the end.

        Polling on purpose: a writer blocked in `get` would be woken by every request and
        take the GIL from the event loop each time."""
        if not self._backlog:
            time.sleep(self.flush)
        entries: list[dict[str, Any]] = []
        while len(entries) < BATCH:
            try:
                batch = self._queue.get_nowait()
            except queue.Empty:
                break
            if batch is None:
                return entries, True
            entries.extend(batch)
        self._backlog = len(entries) >= BATCH  # more waiting: write again without sleeping
        return entries, False

    def _write(self, conn: sqlite3.Connection, entries: list[dict[str, Any]]) -> None:
        try:
            count = prediction_log.append(conn, (_row(**e) for e in entries))
        except sqlite3.Error as exc:  # a full disk must not stop the service from answering
            log.error("prediction log %s: %d rows not written (%s)", self.path,
                      len(entries), exc)
            count = 0
        self.written += count
        with self._done:
            self._processed += len(entries)
            self._done.notify_all()
        if self.on_write is not None:
            self.on_write(count)


    def _write_errors(self, conn: sqlite3.Connection) -> None:
        while True:
            try:
                error = self._errors.get_nowait()
            except queue.Empty:
                return
            try:
                prediction_log.add_error(conn, **error)
            except sqlite3.Error as exc:
                log.error("prediction log %s: an error answer not written (%s)", self.path,
                          exc)


def _row(*, request_id: str, record: int, model: str, version: str, inputs: Any,
         outputs: Any, prediction: str | None, confidence: float | None, ood: list[str],
         latency_ms: float, ts: float, shadow: bool = False) -> tuple[Any, ...]:
    """`prediction_log.row`, with orjson (≈10× faster than json on the writer thread that
    shares the GIL with the event loop); same columns, same JSON (a test reads it back)."""
    return (request_id, record, ts, model, version, _json(inputs), _json(outputs),
            prediction, confidence, _json(ood), latency_ms, int(shadow))


def _json(value: Any) -> str:
    return orjson.dumps(value, default=_plain,
                        option=orjson.OPT_SERIALIZE_NUMPY).decode()


def _plain(value: Any) -> Any:
    """What orjson cannot write: bytes (an image upload) as a placeholder, like
    `prediction_log.row`."""
    if isinstance(value, (bytes, bytearray)):
        return f"<{len(value)} bytes>"
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
