"""`kiln monitor` from the command line: exit status 3 on an alert, the alert log line, the
webhook POST to a real local HTTP server, --json, --every/--times, registry references."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from monitor_helpers import population, write_log

KilnCli = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def drifted_log(shop_bundle: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "predictions.db"
    write_log(path, shop_bundle, population(600, 51, shift=1.0))
    return path


@pytest.fixture(scope="module")
def calm_log(shop_bundle: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli") / "predictions.db"
    write_log(path, shop_bundle, population(600, 52))
    return path


@pytest.fixture
def hook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A real HTTP server on a free local port that keeps every JSON body POSTed to it."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"path": self.path, "type": self.headers["Content-Type"],
                             "json": json.loads(body)})
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()
        server.server_close()


def test_alert_exits_3_logs_a_line_and_posts_the_webhook(
        kiln_cli: KilnCli, shop_bundle: Any, drifted_log: Path,
        hook: tuple[str, list[dict[str, Any]]]) -> None:
    url, received = hook
    code, out, err = kiln_cli("monitor", "--log", str(drifted_log), "--bundle",
                              str(shop_bundle.path), "--alert-webhook", url)
    assert code == 3, err
    assert "DRIFT" in out and "ALERT drift in x1" in out
    line = next(x for x in err.splitlines() if "kiln alert" in x)
    logged = json.loads(line.split("kiln alert ", 1)[1])
    assert {"kind", "feature", "test", "value", "threshold", "window"} <= set(logged)
    assert len(received) == 1 and received[0]["type"] == "application/json"
    alerts = received[0]["json"]["alerts"]
    x1 = next(a for a in alerts if a["feature"] == "x1")
    assert (x1["kind"] == "drift" and x1["value"] > x1["threshold"]) or x1["value"] <= 0.05
    assert x1["window"] == received[0]["json"]["window"]


def test_calm_window_exits_0_and_posts_nothing(
        kiln_cli: KilnCli, shop_bundle: Any, calm_log: Path,
        hook: tuple[str, list[dict[str, Any]]]) -> None:
    url, received = hook
    code, out, _ = kiln_cli("monitor", "--log", str(calm_log), "--bundle",
                            str(shop_bundle.path), "--alert-webhook", url, "--json")
    assert code == 0
    payload = json.loads(out.strip().splitlines()[-1])
    assert payload["drift_detected"] is False and payload["rows"] == 600
    assert payload["alerts"] == [] and received == []


def test_every_repeats_and_window_limits(kiln_cli: KilnCli, shop_bundle: Any,
                                        calm_log: Path) -> None:
    code, out, _ = kiln_cli("monitor", "--log", str(calm_log), "--bundle",
                            str(shop_bundle.path), "--window", "1h", "--every", "0.01s",
                            "--times", "2", "--json")
    assert code == 0
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    assert len(lines) == 2 and all(p["rows"] == 0 for p in lines)  # the log is from 2023


def test_user_mistakes_are_one_line(kiln_cli: KilnCli, shop_bundle: Any, calm_log: Path,
                                    tmp_path: Path) -> None:
    code, _, err = kiln_cli("monitor", "--log", str(calm_log), "--bundle",
                            str(shop_bundle.path), "--window", "soon")
    assert code == 2 and "not a duration" in err
    code, _, err = kiln_cli("monitor", "--log", str(tmp_path / "none.db"), "--bundle",
                            str(shop_bundle.path))
    assert code == 2 and "no such file" in err and "Traceback" not in err
    code, _, err = kiln_cli("monitor", "--log", str(calm_log), "--bundle",
                            str(shop_bundle.path), "--alert-webhook", "ftp://x")
    assert code == 0  # a calm window posts nothing, so the URL is never used


def test_unreachable_webhook(kiln_cli: KilnCli, shop_bundle: Any, drifted_log: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ("monitor", "--log", str(drifted_log), "--bundle", str(shop_bundle.path),
            "--alert-webhook", f"http://127.0.0.1:{port}/hook")
    code, _, err = kiln_cli(*args)
    assert code == 4 and "unreachable" in err
    code, _, err = kiln_cli(*args, "--every", "0.01s", "--times", "2")
    assert code == 3 and err.count("unreachable") == 2  # a watch keeps watching


def test_registry_reference(kiln_cli: KilnCli, shop_bundle: Any, calm_log: Path) -> None:
    from kiln.registry import promote, register

    info = register(shop_bundle.path, name="shop")
    promote("shop", info.version, alias="champion")
    code, out, err = kiln_cli("monitor", "--log", str(calm_log), "--bundle",
                              "models:/shop@champion", "--json")
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["rows"] == 600
