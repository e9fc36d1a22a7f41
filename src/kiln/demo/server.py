"""A real `kiln serve` process for the demo loop: started on a free local port, talked to
over HTTP with the standard library, always stopped (SIGTERM, then kill) by its context."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiln.errors import ServiceError


@dataclass
class Server:
    """A running `kiln serve` process."""

    url: str
    process: subprocess.Popen[bytes]
    output: Path  # the process's stdout and stderr

    def post(self, path: str, body: Any, *, timeout: float = 30.0) -> dict[str, Any]:
        """POST `body` as JSON; the JSON answer. Raises `ServiceError` on an HTTP error."""
        request = urllib.request.Request(f"{self.url}{path}", data=json.dumps(body).encode(),
                                         headers={"content-type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return dict(json.loads(answer.read()))
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:300]
            raise ServiceError(f"{path}: the service answered {exc.code}: {detail}",
                                  where=self.url) from None

    def get_text(self, path: str, *, timeout: float = 10.0) -> str:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=timeout) as answer:
            return str(answer.read().decode())

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM (the service drains and flushes its log), then SIGKILL after `timeout`."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
        return int(self.process.wait())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_server(source: str, *args: str, output: Path, timeout: float = 90.0,
                   env: Mapping[str, str] | None = None) -> Iterator[Server]:
    """`kiln serve SOURCE --port P ARGS...` in a child process (this interpreter), ready
    when `/v2/health/ready` answers 200; stopped when the block ends, also on failure.
    `env` adds to (or overrides) this process's environment."""
    port = free_port()
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-c", "from kiln.cli import main; main()", "serve", source,
             "--host", "127.0.0.1", "--port", str(port), *args],
            stdout=sink, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    server = Server(f"http://127.0.0.1:{port}", process, output)
    try:
        _wait_ready(server, timeout)
        yield server
    finally:
        server.stop()


def _wait_ready(server: Server, timeout: float) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if server.process.poll() is not None:
            tail = server.output.read_text(errors="replace")[-2000:]
            raise ServiceError(f"kiln serve exited with {server.process.returncode} "
                                  f"before it was ready:\n{tail}", where=str(server.output))
        try:
            with urllib.request.urlopen(f"{server.url}/v2/health/ready", timeout=1) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    raise ServiceError(f"kiln serve was not ready on {server.url} after {timeout:.0f} s — "
                          f"see {server.output}", where=str(server.output))
