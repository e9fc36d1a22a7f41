"""The service's own monitor: the status page at `/` (rendered by headless Chromium), the
drift gauges on `/metrics`, error answers in the log — against a real `kiln serve`
process whose background thread checks its own prediction log."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from serve_helpers import Server, start_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "monitor"))

from monitor_helpers import make_shop_bundle, population

from kiln import prediction_log

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium"
                                        if Path("/usr/bin/chromium").exists() else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


@pytest.fixture(scope="module")
def watched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Path]]:
    """The shop classifier served with a 1 s monitor period, after 300 drifted records."""
    folder = tmp_path_factory.mktemp("status")
    bundle = make_shop_bundle(folder / "shop", train_rows=1500, val_rows=1000, steps=150)
    log = folder / "predictions.db"
    with start_server(bundle, "--no-admin", "--log", str(log), "--flush-ms", "50",
                      "--monitor-every", "1") as server:
        frame = population(300, 7, shift=1.5)
        names = ["x1", "x2", "city", "note"]
        for start in range(0, 300, 50):
            records = frame[names].iloc[start:start + 50].to_dict("records")
            answer = requests.post(f"{server.url}/predict", json={"records": records},
                                   timeout=30)
            assert answer.status_code == 200, answer.text
        bad = requests.post(f"{server.url}/predict", json={"records": [{"x1": "oops"}]},
                            timeout=30)
        assert bad.status_code == 422
        yield server, log


def _status(server: Server) -> dict[str, Any]:
    """/status once the background check has seen every logged row."""
    end = time.monotonic() + 30
    while time.monotonic() < end:
        status = requests.get(f"{server.url}/status", timeout=10).json()
        summary = status["monitor"]["summary"]
        if summary and summary["rows"] >= 300:
            return dict(status)
        time.sleep(0.5)
    raise AssertionError(f"no monitor check with the logged rows: {status}")


def test_status_reports_the_drift_the_monitor_found(watched: tuple[Server, Path]) -> None:
    server, _ = watched
    status = _status(server)
    assert status["model"] == "shop" and status["uptime_s"] > 0
    assert status["records_per_s"] >= 0
    summary = status["monitor"]["summary"]
    assert summary["drift_detected"] is True and "x1" in summary["drifted_features"]
    assert status["monitor"]["last_alerts"] and status["monitor"]["error"] is None


def test_metrics_carry_the_drift_gauges(watched: tuple[Server, Path]) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    server, _ = watched
    _status(server)
    text = requests.get(f"{server.url}/metrics", timeout=10).text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["kiln_drift_any"].samples[0].value == 1.0
    assert families["kiln_monitor_rows"].samples[0].value >= 300
    features = {s.labels["feature"] for s in families["kiln_drift_detected"].samples
                if s.value == 1.0}
    assert "x1" in features
    assert "kiln_requests" in families  # the service's own metrics are still there


def test_error_answers_are_logged(watched: tuple[Server, Path]) -> None:
    server, log = watched
    end = time.monotonic() + 10
    while time.monotonic() < end:
        conn = prediction_log.connect(log, create=False)
        try:
            errors = conn.execute("SELECT status, kind, request_id FROM errors").fetchall()
        finally:
            conn.close()
        if errors:
            break
        time.sleep(0.2)
    assert [(status, kind) for status, kind, _ in errors] == [(422, "bundle")]
    assert _status(server)["monitor"]["summary"]["error_rate"] > 0


def test_status_page_is_self_contained(watched: tuple[Server, Path]) -> None:
    server, _ = watched
    _status(server)
    page = requests.get(f"{server.url}/", timeout=10)
    assert page.headers["content-type"].startswith("text/html")
    assert "http://" not in page.text and "https://" not in page.text
    assert "shop" in page.text and "drifted features" in page.text and "x1" in page.text


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="needs chromium (scripts/system-deps.sh)")
def test_chromium_renders_the_status_page(watched: tuple[Server, Path], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from PIL import Image

    # an in-process service of another test may have lowered Pillow's process-wide
    # decompression-bomb limit (serve's max_image_pixels): the screenshot is ours
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)

    server, _ = watched
    _status(server)
    assert CHROMIUM is not None
    base = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*base, "--virtual-time-budget=3000", "--dump-dom", f"{server.url}/"],
                         capture_output=True, text=True, timeout=120)
    assert 'data-refreshed="1"' in dom.stdout, dom.stderr[-2000:]  # the script ran, no error
    assert "data-jserror" not in dom.stdout
    shot = tmp_path / "shot.png"
    subprocess.run([*base, "--virtual-time-budget=3000", f"--screenshot={shot}",
                    "--window-size=1000,900", f"{server.url}/"],
                   capture_output=True, timeout=120, check=True)
    assert shot.is_file() and shot.stat().st_size > 0
    colours = Image.open(shot).convert("RGB").getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 50  # text and cards, not a blank page
