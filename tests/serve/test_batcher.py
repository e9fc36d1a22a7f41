"""The dynamic batcher: rows not requests, bounded queue (503), deadline (504), one thread."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import numpy as np
import pytest

from kiln.serve.batcher import DynamicBatcher
from kiln.serve.problems import RequestRejected


class FakeModel:
    """Stands in for a ServedModel: doubles its input, records each batch's size."""

    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[int] = []
        self.threads: set[str] = set()
        self.delay = delay

    def run_batch(self, requests: list[list[dict[str, Any]]]) -> list[Any]:
        self.threads.add(threading.current_thread().name)
        self.batches.append(sum(len(r) for r in requests))
        time.sleep(self.delay)
        return [{"y": np.asarray([[2 * row["x"]] for row in request])}
                if all(row["x"] >= 0 for row in request)
                else RequestRejected("negative", status=422, field="x") for request in requests]


def prepared(values: list[float]) -> list[dict[str, Any]]:
    return [{"x": v} for v in values]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_requests_join_batches_by_rows_and_get_their_own_rows_back() -> None:
    model = FakeModel(delay=0.02)

    async def main() -> list[Any]:
        batcher = DynamicBatcher(max_batch_rows=8, max_wait_ms=5, max_queue_rows=100,
                                 timeout_ms=5000)
        await batcher.start()
        results = await asyncio.gather(*[batcher.submit(model, prepared([i, i + 0.5, i + 0.25]))
                                         for i in range(10)])
        await batcher.stop()
        return results

    results = run(main())
    for i, out in enumerate(results):
        assert out["y"][:, 0].tolist() == [2 * i, 2 * i + 1, 2 * i + 0.5]
    assert sum(model.batches) == 30
    assert max(model.batches) <= 8 and len(model.batches) < 10  # rows, not requests
    assert len(model.threads) == 1 and next(iter(model.threads)).startswith("kiln-model")


def test_a_full_queue_answers_503_with_retry_after() -> None:
    model = FakeModel(delay=0.2)

    async def main() -> list[Any]:
        batcher = DynamicBatcher(max_batch_rows=1, max_wait_ms=0, max_queue_rows=2,
                                 timeout_ms=10_000)
        await batcher.start()
        results = await asyncio.gather(*[batcher.submit(model, prepared([1.0]))
                                         for _ in range(6)], return_exceptions=True)
        await batcher.stop()
        return results

    results = run(main())
    refused = [r for r in results if isinstance(r, RequestRejected)]
    assert refused and all(r.http_status == 503 for r in refused)
    assert all(int(r.headers["Retry-After"]) >= 1 for r in refused)
    assert sum(isinstance(r, dict) for r in results) >= 2


def test_a_request_queued_past_its_deadline_gets_504_and_is_not_run() -> None:
    model = FakeModel(delay=0.3)

    async def main() -> list[Any]:
        batcher = DynamicBatcher(max_batch_rows=1, max_wait_ms=0, max_queue_rows=100,
                                 timeout_ms=100)
        await batcher.start()
        results = await asyncio.gather(*[batcher.submit(model, prepared([float(i)]))
                                         for i in range(3)], return_exceptions=True)
        await batcher.stop()
        return results

    results = run(main())
    assert isinstance(results[0], dict)
    late = [r for r in results[1:] if isinstance(r, RequestRejected)]
    assert late and all(r.http_status == 504 for r in late)
    assert sum(model.batches) == 3 - len(late)  # the late ones never ran


def test_a_lone_request_does_not_wait_for_company() -> None:
    model = FakeModel()

    async def main() -> float:
        batcher = DynamicBatcher(max_batch_rows=64, max_wait_ms=500, max_queue_rows=100,
                                 timeout_ms=5000)
        await batcher.start()
        await batcher.submit(model, prepared([1.0]))  # warm the thread
        started = time.perf_counter()
        await batcher.submit(model, prepared([1.0]))
        elapsed = time.perf_counter() - started
        await batcher.stop()
        return elapsed

    assert run(main()) < 0.25


@pytest.mark.parametrize("rows", [1, 70])
def test_one_request_larger_than_a_batch_still_runs(rows: int) -> None:
    model = FakeModel()

    async def main() -> Any:
        batcher = DynamicBatcher(max_batch_rows=64, max_wait_ms=1, max_queue_rows=1000,
                                 timeout_ms=5000)
        await batcher.start()
        out = await batcher.submit(model, prepared([1.0] * rows))
        await batcher.stop()
        return out

    assert len(run(main())["y"]) == rows


def test_a_bad_request_fails_alone() -> None:
    model = FakeModel()

    async def main() -> list[Any]:
        batcher = DynamicBatcher(max_batch_rows=64, max_wait_ms=5, max_queue_rows=100,
                                 timeout_ms=5000)
        await batcher.start()
        results = await asyncio.gather(*[batcher.submit(model, prepared([v]))
                                         for v in (1.0, -1.0, 2.0)], return_exceptions=True)
        await batcher.stop()
        return results

    good, bad, other = run(main())
    assert good["y"][0, 0] == 2.0 and other["y"][0, 0] == 4.0
    assert isinstance(bad, RequestRejected) and bad.http_status == 422
