"""A real `kiln serve` process on a free local port, stopped with SIGTERM."""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from kiln.demo.server import Server, free_port, running_server

TOKEN = "test-admin-token"
ClientFactory = Callable[..., AbstractContextManager[Any]]  # the `client` fixture

__all__ = ["TOKEN", "ClientFactory", "Server", "free_port", "start_server"]


@contextmanager
def start_server(source: str | Path, *args: str, env: dict[str, str] | None = None,
                 timeout: float = 60.0) -> Iterator[Server]:
    """`kiln serve` as the demo starts it (`kiln.demo.server.running_server`), its output
    in a temp file that a failure to start quotes."""
    with tempfile.TemporaryDirectory() as folder, running_server(
            str(source), *args, output=Path(folder) / "serve.log", timeout=timeout,
            env=env) as server:
        yield server
