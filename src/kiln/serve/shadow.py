"""Shadow mode: a second model answers the same records off the request path.

    kiln serve models:/digits@champion --shadow models:/digits@challenger

The client is always answered by the primary model; after its answer is logged, the
request's records go on a bounded queue, and one thread runs the shadow model on them and
logs its answers as `shadow=1` rows of the same request id and record (the prediction
log's format), so `kiln monitor` can report agreement and, once labels arrive, both
accuracies. A full queue drops the shadow's work, never the client's request
(`kiln_shadow_dropped_total`).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiln.serve.log_writer import PredictionLogWriter
    from kiln.serve.served import ServedModel
    from kiln.serve.telemetry import Metrics

log = logging.getLogger("kiln.serve")
MAX_PENDING = 256  # requests waiting for the shadow; beyond, their shadow work is dropped


class ShadowRunner:
    """One thread running `model` on queued requests and logging its answers."""

    def __init__(self, model: ServedModel, writer: PredictionLogWriter, metrics: Metrics,
                 *, max_pending: int = MAX_PENDING) -> None:
        self.model = model
        self.writer = writer
        self.metrics = metrics
        self._queue: queue.Queue[tuple[list[dict[str, Any]], str] | None] = \
            queue.Queue(maxsize=max_pending)
        self._thread = threading.Thread(target=self._loop, name="kiln-shadow", daemon=True)
        self._thread.start()

    def submit(self, records: list[dict[str, Any]], request_id: str) -> None:
        """Queue a request's records for the shadow; never blocks."""
        try:
            self._queue.put_nowait((records, request_id))
        except queue.Full:
            self.metrics.shadow_dropped.inc(len(records))

    def close(self) -> None:
        """Run what is queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout=60)

    def _loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            records, request_id = item
            try:
                self._run(records, request_id)
            except Exception as exc:  # the shadow must never disturb the service
                self.metrics.shadow_failed.inc(len(records))
                log.warning("shadow %s %s: %s", self.model.name, self.model.version, exc)

    def _run(self, records: list[dict[str, Any]], request_id: str) -> None:
        started = time.perf_counter()
        answers = self.model.bundle.predict(records)
        latency = (time.perf_counter() - started) * 1000.0
        now = time.time()
        entries = []
        for i, (record, answer) in enumerate(zip(records, answers, strict=True)):
            first = next(iter(answer.values()))
            prediction = first.get("label", first.get("labels", first.get("value")))
            entries.append({"request_id": request_id, "record": i, "model": self.model.name,
                            "version": self.model.version, "inputs": record,
                            "outputs": answer,
                            "prediction": None if prediction is None else str(prediction),
                            "confidence": first.get("confidence"), "ood": [],
                            "latency_ms": latency, "ts": now, "shadow": True})
        self.writer.add(entries)
        self.metrics.shadow_records.inc(len(records))
