"""A real `kiln serve` process on a free local port, stopped with SIGTERM."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests

SRC = Path(__file__).resolve().parents[2] / "src"
TOKEN = "test-admin-token"
ClientFactory = Callable[..., AbstractContextManager[Any]]  # the `client` fixture


@dataclass
class Server:
    url: str
    port: int
    process: subprocess.Popen[str]
    exit_code: int | None = None

    def stop(self) -> int:
        """SIGTERM, then wait: the service drains and flushes its log before exiting."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.exit_code = self.process.wait(timeout=60)
        return self.exit_code


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def start_server(source: str | Path, *args: str, env: dict[str, str] | None = None,
                 timeout: float = 60.0) -> Iterator[Server]:
    port = free_port()
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(
        [str(SRC), *filter(None, [environment.get("PYTHONPATH")])])
    process = subprocess.Popen(
        [sys.executable, "-c", "from kiln.cli import main; main()", "serve", str(source),
         "--port", str(port), *args],
        env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server = Server(f"http://127.0.0.1:{port}", port, process)
    try:
        _wait_ready(server, timeout)
        yield server
    finally:
        server.stop()


def _wait_ready(server: Server, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if server.process.poll() is not None:
            out = server.process.stdout.read() if server.process.stdout else ""
            raise RuntimeError(f"kiln serve exited with {server.process.returncode}:\n{out}")
        try:
            if requests.get(f"{server.url}/v2/health/ready", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"kiln serve not ready on {server.url} after {timeout} s")
