"""`--workers 2`: two processes on one port, each logging to the same SQLite file, and a
SIGTERM right after the last answer loses no row (each worker drains its writer)."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest
import requests
from bundle_helpers import Parts
from serve_helpers import start_server


@pytest.mark.slow
def test_two_workers_answer_and_log_on_one_port(mixed: Parts, tmp_path: Path) -> None:
    log = tmp_path / "log.db"
    answered: list[int] = []
    stop = threading.Event()
    with start_server(mixed.path, "--workers", "2", "--no-admin", "--log", str(log)) as srv:
        def client() -> None:
            with requests.Session() as session:
                while not stop.is_set():
                    r = session.post(f"{srv.url}/predict", json={"records": mixed.records[:3]})
                    assert r.status_code == 200, r.text
                    answered.append(len(r.json()["predictions"]))

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        while len(answered) < 150:
            stop.wait(0.05)
        stop.set()
        for t in threads:
            t.join()
        assert srv.stop() == 0  # at once: the last rows are still in the writers' memory
    with sqlite3.connect(log) as conn:
        assert conn.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == sum(answered)
