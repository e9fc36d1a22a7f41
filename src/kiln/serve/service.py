"""The running service: the model version being served (and the one before it), the
batcher, the prediction-log writer and the metrics — and the one path every prediction
route takes: check → batch → answer → flag → log.

Reload and rollback swap `current` in one assignment. A request reads `current` once, at
its start, and keeps that `ServedModel` to the end, so a swap never changes the model
under a request in flight, and each answer names the version that computed it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kiln.errors import KilnError
from kiln.serve.batcher import DynamicBatcher
from kiln.serve.log_writer import PredictionLogWriter
from kiln.serve.problems import RequestRejected
from kiln.serve.served import Answered, ServedModel, check_compatible, load_served
from kiln.serve.settings import ServeSettings
from kiln.serve.shadow import ShadowRunner
from kiln.serve.source import RegistryRef, current_version, fetch, parse_source
from kiln.serve.telemetry import Metrics

log = logging.getLogger("kiln.serve")


@dataclass
class Outcome:
    """What a prediction route needs to answer: the model that ran, its decoded outputs
    (this request's rows), and one answer per record."""

    model: ServedModel
    decoded: dict[str, np.ndarray]
    answers: list[dict[str, Any]]


class Service:
    """Everything one worker process holds. Build with `kiln.serve.create_app`."""

    def __init__(self, model: ServedModel, settings: ServeSettings, *,
                 fallback: ServedModel | None = None, ref: RegistryRef | None = None,
                 shadow: ServedModel | None = None) -> None:
        self.settings = settings
        self.shadow = shadow
        self.shadow_runner: ShadowRunner | None = None
        self.current = model
        self.previous: ServedModel | None = None
        self.fallback = fallback
        self.ref = ref
        self.metrics = Metrics()
        self.metrics.serving(model.name, model.version, model.source)
        self.batcher: DynamicBatcher | None = None
        self.writer: PredictionLogWriter | None = None
        self.ready = False
        self._reload_lock = asyncio.Lock()
        self._follow: asyncio.Task[None] | None = None
        from kiln.serve.status import StatusBoard

        self.status = StatusBoard(self)

    async def start(self) -> None:
        s = self.settings
        self.batcher = DynamicBatcher(max_batch_rows=s.max_batch_rows,
                                      max_wait_ms=s.max_wait_ms,
                                      max_queue_rows=s.max_queue_rows, timeout_ms=s.timeout_ms,
                                      on_batch=self.metrics.batch_rows.observe)
        await self.batcher.start()
        if s.log_enabled:
            self.writer = PredictionLogWriter(s.log_path(), flush_ms=s.flush_ms,
                                              on_write=self.metrics.log_rows.inc)
            if self.shadow is not None:
                self.shadow_runner = ShadowRunner(self.shadow, self.writer, self.metrics)
        if self.ref is not None and s.follow_s > 0 and not self.ref.ref.isdigit():
            self._follow = asyncio.get_running_loop().create_task(self._follow_alias())
        self.status.start()
        self.ready = True

    async def stop(self) -> None:
        """Stop following, answer what is queued, write the log: the SIGTERM drain."""
        self.ready = False
        if self._follow is not None:
            self._follow.cancel()
        if self.batcher is not None:
            await self.batcher.stop()
        await asyncio.to_thread(self.status.stop)
        if self.shadow_runner is not None:
            await asyncio.to_thread(self.shadow_runner.close)
        if self.writer is not None:
            await asyncio.to_thread(self.writer.close)

    def log_error(self, status: int, kind: str, request_id: str | None) -> None:
        """Queue one error answer for the log's `errors` table (the monitor's error rate)."""
        if self.writer is not None:
            self.writer.add_error(status=status, kind=kind, request_id=request_id)

    # ------------------------------------------------------------------ prediction path

    async def predict(self, records: list[dict[str, Any]], request_id: str,
                      started: float, model: ServedModel | None = None) -> Outcome:
        """Records → answers from `model` (default: the current one), with the OOD policy
        applied, counted and logged."""
        assert self.batcher is not None, "Service.start() was not awaited"
        model = model or self.current
        answered: Answered = await self.batcher.submit(model, records)
        answers, reasons = answered.answers, answered.reasons
        for i, answer in enumerate(answers):
            low = model.ood.confidence_reason(answer)
            if low is not None:
                reasons[i].append(low)
        records_out = [_record_answer(a) for a in answers]
        flagged = [i for i, r in enumerate(reasons) if r]
        if flagged and self.settings.ood_policy != "flag":
            await self._apply_policy(records, records_out, reasons, flagged)
        for i, record_reasons in enumerate(reasons):
            records_out[i]["ood"] = {"flagged": bool(record_reasons),
                                     "reasons": [text for _, text in record_reasons]}
            for kind, _ in record_reasons:
                self.metrics.ood.labels(kind).inc()
        self.metrics.records.labels(model.name, model.version).inc(len(records))
        self._log(model, records, records_out, request_id, started)
        if self.shadow_runner is not None:
            self.shadow_runner.submit(records, request_id)
        return Outcome(model, answered.decoded, records_out)

    async def _apply_policy(self, records: list[dict[str, Any]],
                            out: list[dict[str, Any]], reasons: list[list[tuple[str, str]]],
                            flagged: list[int]) -> None:
        if self.settings.ood_policy == "abstain" or self.fallback is None:
            for i in flagged:
                out[i] = {"abstained": True,
                          "reason": "; ".join(text for _, text in reasons[i])}
                self.metrics.abstained.inc()
            return
        assert self.batcher is not None
        chosen = [records[i] for i in flagged]
        answered: Answered = await self.batcher.submit(self.fallback, chosen)
        for i, answer in zip(flagged, answered.answers, strict=True):
            out[i] = {**_record_answer(answer), "answered_by":
                      f"{self.fallback.name}:{self.fallback.version}"}
            self.metrics.fallback.inc()

    def _log(self, model: ServedModel, records: list[dict[str, Any]],
             answers: list[dict[str, Any]], request_id: str, started: float) -> None:
        if self.writer is None:
            return
        latency = (time.perf_counter() - started) * 1000.0
        now = time.time()
        self.writer.add([
            {"request_id": request_id, "record": i, "model": model.name,
             "version": model.version, "inputs": record,
             "outputs": answer.get("outputs", answer),
             "prediction": _text(answer.get("prediction")),
             "confidence": answer.get("confidence"), "ood": answer["ood"]["reasons"],
             "latency_ms": latency, "ts": now}
            for i, (record, answer) in enumerate(zip(records, answers, strict=True))])

    # ------------------------------------------------------------------ safe updates

    async def reload(self, source: str | None = None) -> dict[str, Any]:
        """Load, verify and warm `source` (a bundle path or models:/ ref; None: this
        service's registry ref again) beside the current model, then swap. A failure
        leaves the current model serving and raises a `KilnError` (409)."""
        async with self._reload_lock:
            try:
                new = await asyncio.to_thread(self._load, source)
                check_compatible(self.current, new)
            except KilnError as exc:
                self.metrics.reloads.labels("failed").inc()
                raise RequestRejected(f"reload refused, still serving {self.current.name} "
                                      f"{self.current.version}: {exc}", status=409,
                                      field="bundle") from None
            return self._swap(new, "reload")

    async def rollback(self) -> dict[str, Any]:
        """Serve the previous version again (409 when there is none)."""
        async with self._reload_lock:
            if self.previous is None:
                raise RequestRejected("nothing to roll back to: this service has not been "
                                      "reloaded", status=409, field=None)
            return self._swap(self.previous, "rollback")

    def _swap(self, new: ServedModel, action: str) -> dict[str, Any]:
        old, self.previous, self.current = self.current, self.current, new
        self.metrics.serving(new.name, new.version, new.source)
        self.metrics.reloads.labels(action).inc()
        log.info("%s: now serving %s %s (was %s)", action, new.name, new.version, old.version)
        return {"action": action, "model": new.name, "version": new.version,
                "source": new.source, "previous": old.version}

    def _load(self, source: str | None) -> ServedModel:
        parsed = parse_source(source) if source else self.ref
        if parsed is None:
            raise RequestRejected("say which bundle to load: {\"bundle\": PATH}", status=422,
                                  field="bundle")
        if isinstance(parsed, RegistryRef):
            version = current_version(parsed)
            return load_served(fetch(parsed, version), self.settings, name=parsed.name,
                               version=version)
        return load_served(Path(parsed), self.settings,
                           name=self.settings.model_name or None)

    async def _follow_alias(self) -> None:
        """Re-resolve the registry alias every `follow_s` seconds; reload when it moves."""
        assert self.ref is not None
        while True:
            await asyncio.sleep(self.settings.follow_s)
            try:
                version = await asyncio.to_thread(current_version, self.ref)
                if version != self.current.version:
                    await self.reload(str(self.ref))
            except KilnError as exc:
                log.warning("following %s: %s (still serving %s)", self.ref, exc,
                            self.current.version)


def _record_answer(answer: dict[str, Any]) -> dict[str, Any]:
    """A bundle answer (per head) → the service's record answer: the first head's fields
    at the top level, every head under `outputs`."""
    first = next(iter(answer.values()))
    top = {"prediction": first.get("label", first.get("labels", first.get("value")))}
    top.update(first)
    top["outputs"] = answer
    top["abstained"] = False
    return top


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)
