"""Running the app: one process, or `workers` processes on one port (uvicorn's supervisor).

Each worker loads its own copy of the model and runs its own batcher and prediction-log
writer on the same SQLite file (WAL serialises their short write transactions): no
process waits for another, and a crashed worker loses only its own unwritten rows.

SIGTERM (or Ctrl-C): uvicorn stops accepting connections and lets requests in flight
finish (up to `graceful_s`); then the app's lifespan ends — the batcher answers what is
queued and the log writer writes every row — and the process exits 0.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiln.errors import KilnError
from kiln.serve.settings import ServeSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from kiln.bundle import Bundle

CONFIG_ENV = "KILN_SERVE_CONFIG"  # how the supervisor tells each worker what to serve


def serve(bundle_or_ref: str | Path | Bundle, settings: ServeSettings | None = None, *,
          host: str = "127.0.0.1", port: int = 8080, workers: int = 1,
          graceful_s: float = 30.0, log_level: str = "warning") -> None:
    """Serve until SIGTERM / SIGINT. With `workers` > 1, `bundle_or_ref` must be a path
    or a registry reference (each worker process loads it)."""
    import uvicorn

    settings = (settings or ServeSettings()).with_env()
    options: dict[str, Any] = {"host": host, "port": port, "log_level": log_level,
                               "access_log": False, "timeout_graceful_shutdown": graceful_s,
                               "lifespan": "on", **_fast_loop()}
    if workers <= 1:
        from kiln.serve.app import create_app

        app = create_app(bundle_or_ref, settings)
        _announce(app, host, port, 1)
        _exit_zero_after_drain()
        _tune_gc()
        uvicorn.run(app, **options)
        return
    if not isinstance(bundle_or_ref, (str, Path)):
        raise KilnError("--workers needs a bundle path or registry reference, not a loaded "
                        "bundle", where="workers")
    _check_before_fork(str(bundle_or_ref), settings)
    os.environ[CONFIG_ENV] = json.dumps({"source": str(bundle_or_ref),
                                         "settings": dataclasses.asdict(settings)})
    print(f"kiln serve: {workers} workers on http://{host}:{port}", file=sys.stderr,
          flush=True)
    _exit_zero_after_drain()
    uvicorn.run("kiln.serve.runner:worker_app", factory=True, workers=workers, **options)


def worker_app() -> FastAPI:
    """The app of one worker process (uvicorn calls this factory in each worker)."""
    from kiln.serve.app import create_app

    config = json.loads(os.environ[CONFIG_ENV])
    # No SIGTERM handler here: uvicorn's own is already installed in the worker and must
    # stay, or the worker would stop without draining. After its drain the worker dies of
    # the re-raised SIGTERM; the supervisor (which has `_exit_zero_after_drain`) exits 0.
    app = create_app(config["source"], ServeSettings(**config["settings"]))
    _tune_gc()
    return app


def _tune_gc() -> None:
    """Fewer, cheaper garbage collections in a process that only serves: the modules and
    the model loaded so far are frozen out of every collection, and the youngest
    generation is collected every 50,000 allocations instead of 700. Measured with
    benchmarks/serve.py: p99 at 64 connections fell from ~160 ms to ~60 ms (shared
    machine). Process-wide, so only here, never in `create_app`."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def _exit_zero_after_drain() -> None:
    """uvicorn drains on SIGTERM, restores the handler it found, then raises SIGTERM
    again; this handler turns that second one (or one before uvicorn started) into a
    clean exit 0 — an orchestrator reads any other status as a crash."""
    def exit_zero(signum: int, frame: object) -> None:
        raise SystemExit(0)

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, exit_zero)


def _check_before_fork(source: str, settings: ServeSettings) -> None:
    """Fail once, in the supervisor, for a missing token or a tampered bundle."""
    from kiln.serve.source import parse_source

    if not settings.no_admin and not settings.admin_token:
        raise KilnError("admin routes need a token: set KILN_ADMIN_TOKEN (or pass "
                        "--admin-token), or start with --no-admin", where="KILN_ADMIN_TOKEN")
    parsed = parse_source(source)
    if isinstance(parsed, Path):
        from kiln.bundle import verify

        verify(parsed)


def _fast_loop() -> dict[str, str]:
    """uvloop and httptools when installed (both are optional speed-ups of uvicorn)."""
    import importlib.util

    options = {}
    if importlib.util.find_spec("uvloop") is not None:
        options["loop"] = "uvloop"
    if importlib.util.find_spec("httptools") is not None:
        options["http"] = "httptools"
    return options


def _announce(app: FastAPI, host: str, port: int, workers: int) -> None:
    service = app.state.service
    model = service.current
    logging.getLogger("kiln.serve").info("serving %s %s", model.name, model.version)
    print(f"kiln serve: {model.name} version {model.version} on http://{host}:{port} "
          f"({workers} worker{'s' if workers > 1 else ''}; log "
          f"{service.settings.log_path() if service.settings.log_enabled else 'off'})",
          file=sys.stderr, flush=True)
