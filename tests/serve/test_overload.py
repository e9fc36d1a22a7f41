"""Overload: a tiny queue and a slowed model → 503 with Retry-After; health stays fast."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests
from bundle_helpers import Parts
from serve_helpers import free_port

from kiln.serve import ServeSettings, create_app


@contextmanager
def in_process_server(app: Any) -> Iterator[str]:
    """uvicorn in a thread of this process, so the test can slow the model down."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="error", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_full_queue_answers_503_and_health_stays_fast(digits: Parts, tmp_path: Path) -> None:
    app = create_app(digits.path, ServeSettings(no_admin=True, max_queue_rows=2,
                                                max_batch_rows=1, max_wait_ms=0,
                                                log=str(tmp_path / "log.db")))
    model = app.state.service.current
    original = model.run

    def slow(inputs: Any) -> Any:
        time.sleep(0.15)
        return original(inputs)

    model.run = slow
    statuses: list[tuple[int, str | None]] = []
    health: list[float] = []
    with in_process_server(app) as url:
        def hammer() -> None:
            with requests.Session() as session:
                for _ in range(4):
                    r = session.post(f"{url}/predict", json={"records": digits.records[:1]})
                    statuses.append((r.status_code, r.headers.get("retry-after")))

        threads = [threading.Thread(target=hammer) for _ in range(12)]
        for t in threads:
            t.start()
        time.sleep(0.2)
        with requests.Session() as session:
            for path in ["/v2/health/live", "/v2/health/ready"] * 5:
                started = time.perf_counter()
                assert session.get(f"{url}{path}", timeout=5).status_code == 200
                health.append(time.perf_counter() - started)
        for t in threads:
            t.join()
    refused = [s for s in statuses if s[0] == 503]
    assert refused, statuses
    assert all(retry is not None and int(retry) >= 1 for _, retry in refused)
    assert {code for code, _ in statuses} <= {200, 503}
    assert max(health) < 0.1, health
