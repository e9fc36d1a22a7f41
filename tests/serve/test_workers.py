"""`--workers 2`: two processes on one port, each logging to the same SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import requests
from bundle_helpers import Parts
from serve_helpers import start_server


@pytest.mark.slow
def test_two_workers_answer_and_log_on_one_port(mixed: Parts, tmp_path: Path) -> None:
    log = tmp_path / "log.db"
    with start_server(mixed.path, "--workers", "2", "--no-admin", "--log", str(log)) as srv:
        with requests.Session() as session:
            for _ in range(40):
                r = session.post(f"{srv.url}/predict", json={"records": mixed.records[:3]})
                assert r.status_code == 200, r.text
        assert srv.stop() == 0
    with sqlite3.connect(log) as conn:
        assert conn.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 120
