"""Dynamic batching: requests queue up and the model runs them together, off the event loop.

    batcher = DynamicBatcher(max_batch_rows=64, max_wait_ms=2, max_queue_rows=2048,
                             timeout_ms=2000)
    await batcher.start()
    answered = await batcher.submit(model, records)   # what model.run_batch gave this request

Lifecycle: `start` creates the worker task and the one model thread; `submit` queues a
request (503 with Retry-After when the queue holds `max_queue_rows` rows already); the
worker takes requests in arrival order, all for the same model version, up to
`max_batch_rows` *rows*, and calls `model.run_batch` on them in the model thread (one
preprocessing call and one ONNX Runtime call for the whole batch); each request gets its
own result, or its own error. A request still queued `timeout_ms` after it arrived gets 504 and is
not run. `stop` lets the queue drain, then ends the worker.

Waiting: while the model is busy, requests pile up and form the next batch by themselves.
When the model is idle the first request waits up to `max_wait_ms` for company — but only
while other requests are being read (`arriving`), so a lone client never waits.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from kiln.serve.problems import RequestRejected


class BatchModel(Protocol):
    """What the batcher runs: many requests' records → one result (or exception) each."""

    def run_batch(self, requests: Sequence[list[dict[str, Any]]]) -> Sequence[Any]: ...


@dataclass
class _Item:
    model: BatchModel
    records: list[dict[str, Any]]
    future: asyncio.Future[Any]
    deadline: float

    @property
    def rows(self) -> int:
        return len(self.records)


class DynamicBatcher:
    """Queue → batches of rows → one model thread. See the module docstring."""

    def __init__(self, *, max_batch_rows: int, max_wait_ms: float, max_queue_rows: int,
                 timeout_ms: float,
                 on_batch: Callable[[int], None] | None = None) -> None:
        self.max_batch_rows = max_batch_rows
        self.max_wait = max_wait_ms / 1000.0
        self.max_queue_rows = max_queue_rows
        self.timeout = timeout_ms / 1000.0
        self.on_batch = on_batch
        self.queued_rows = 0
        self.arriving = 0
        self.busy_until = 0.0  # when the running batch is expected to end (for Retry-After)
        self.seconds_per_row = 0.0
        self._queue: deque[_Item] = deque()
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiln-model")

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._work(), name="kiln-batcher")

    async def stop(self) -> None:
        """Answer everything queued, then end the worker and the model thread."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            await self._task
        self.executor.shutdown(wait=True)

    @contextmanager
    def arriving_request(self) -> Iterator[None]:
        """Mark a request as being read, so an idle model waits for it to join a batch."""
        self.arriving += 1
        try:
            yield
        finally:
            self.arriving -= 1

    async def submit(self, model: BatchModel, records: list[dict[str, Any]]) -> Any:
        """Queue `records` for `model`; returns `model.run_batch`'s result for them (or
        raises the exception it gave for them)."""
        if self._stopping:
            raise RequestRejected("the service is shutting down — retry on another replica",
                                  status=503, headers={"Retry-After": "1"})
        if self.queued_rows + len(records) > self.max_queue_rows:
            raise RequestRejected(f"overloaded: {self.queued_rows} rows are already waiting "
                                  f"for the model — retry later", status=503,
                                  headers={"Retry-After": self._retry_after()})
        loop = asyncio.get_running_loop()
        item = _Item(model, records, loop.create_future(), loop.time() + self.timeout)
        self._queue.append(item)
        self.queued_rows += len(records)
        self._wakeup.set()
        return await item.future

    def _retry_after(self) -> str:
        return str(max(1, math.ceil(self.queued_rows * self.seconds_per_row)))

    async def _work(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._stopping:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            await self._gather(loop)
            batch = self._take(loop.time())
            if batch:
                await self._run(loop, batch)

    async def _gather(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wait (≤ max_wait) for requests being read to join, unless the batch is full."""
        end = loop.time() + self.max_wait
        while self.arriving > 0 and self.queued_rows < self.max_batch_rows:
            remaining = end - loop.time()
            if remaining <= 0:
                return
            self._wakeup.clear()
            try:
                await asyncio.wait_for(self._wakeup.wait(), remaining)
            except asyncio.TimeoutError:
                return

    def _take(self, now: float) -> list[_Item]:
        """The next batch: queued items for the head's model, ≤ max_batch_rows rows (one
        item alone may be larger); items past their deadline get 504 instead."""
        batch: list[_Item] = []
        rows = 0
        while self._queue:
            item = self._queue[0]
            if batch and (item.model is not batch[0].model
                          or rows + item.rows > self.max_batch_rows):
                break
            self._queue.popleft()
            self.queued_rows -= item.rows
            if item.future.done():  # the client went away
                continue
            if now > item.deadline:
                item.future.set_exception(RequestRejected(
                    f"timed out: queued longer than {self.timeout * 1000:.0f} ms, not run — "
                    f"retry later", status=504, headers={"Retry-After": "1"}))
                continue
            batch.append(item)
            rows += item.rows
        return batch

    async def _run(self, loop: asyncio.AbstractEventLoop, batch: list[_Item]) -> None:
        model = batch[0].model
        rows = sum(item.rows for item in batch)
        started = loop.time()
        try:
            results = await loop.run_in_executor(self.executor, model.run_batch,
                                                  [item.records for item in batch])
        except Exception as exc:  # a model failure reaches every waiting request
            results = [exc] * len(batch)
        elapsed = loop.time() - started
        self.seconds_per_row = 0.8 * self.seconds_per_row + 0.2 * elapsed / rows
        if self.on_batch is not None:
            self.on_batch(rows)
        for item, result in zip(batch, results, strict=True):
            if item.future.done():
                continue
            if isinstance(result, BaseException):
                item.future.set_exception(result)
            else:
                item.future.set_result(result)
