"""`kiln serve`: a bundle (or a registry alias) as a REST service."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from kiln.cli.app import app


@app.command("serve")
def serve_cmd(
    source: Annotated[str, typer.Argument(help="Bundle folder or .zip, or a registry "
                                               "reference models:/NAME@ALIAS.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    workers: Annotated[int, typer.Option(min=1, help="Processes on the port, each with "
                                                     "its own model copy.")] = 1,
    follow: Annotated[float | None, typer.Option(
        help="Registry references: re-resolve the alias every S seconds and reload when "
             "it moves.")] = None,
    max_batch_rows: Annotated[int | None, typer.Option(help="Rows per model call.")] = None,
    max_wait_ms: Annotated[float | None, typer.Option(
        help="How long a request waits for others to join its batch.")] = None,
    max_queue_rows: Annotated[int | None, typer.Option(
        help="Rows that may wait; beyond, 503 with Retry-After.")] = None,
    timeout_ms: Annotated[float | None, typer.Option(
        help="A request queued longer gets 504.")] = None,
    max_body_bytes: Annotated[int | None, typer.Option(help="Largest body (413).")] = None,
    threads: Annotated[int | None, typer.Option(help="ONNX Runtime intra-op threads.")
                       ] = None,
    ood_policy: Annotated[str | None, typer.Option(
        help="flag, abstain or fallback: what happens to an out-of-distribution record.")
                          ] = None,
    fallback: Annotated[str | None, typer.Option(
        help="Bundle that answers flagged records (ood_policy fallback).")] = None,
    log: Annotated[Path | None, typer.Option(
        help="Prediction log (SQLite); default $KILN_HOME/predictions.db.")] = None,
    no_log: Annotated[bool, typer.Option("--no-log", help="Do not log predictions.")
                      ] = False,
    flush_ms: Annotated[float | None, typer.Option(
        help="Log write interval: a crash loses at most this much.")] = None,
    admin_token: Annotated[str | None, typer.Option(
        help="Bearer token of /admin (default $KILN_ADMIN_TOKEN).")] = None,
    no_admin: Annotated[bool, typer.Option("--no-admin", help="No admin routes (then no "
                                                              "token is needed).")] = False,
    log_level: Annotated[str, typer.Option(help="uvicorn log level.")] = "warning",
    shadow: Annotated[str | None, typer.Option(
        help="A second bundle or models:/NAME@ALIAS run on the same records off the request "
             "path; its answers are logged as shadow rows.")] = None,
    monitor_every: Annotated[float | None, typer.Option(
        help="Seconds between the service's own monitor checks of its log (status page, "
             "drift gauges on /metrics); 0: none.")] = None,
) -> None:
    """Serve a bundle: JSON `/predict`, Open Inference Protocol v2 (Triton clients), dynamic
    batching, `/metrics`, `/feedback`, admin reload / rollback. See docs/serve.md."""
    from kiln.serve import ServeSettings, serve
    from kiln.serve.settings import spec_from_bundle
    from kiln.serve.source import parse_source

    parsed = parse_source(source)
    spec = spec_from_bundle(parsed) if isinstance(parsed, Path) else None
    settings = ServeSettings.from_spec(
        spec, max_batch_rows=max_batch_rows, max_wait_ms=max_wait_ms,
        max_queue_rows=max_queue_rows, timeout_ms=timeout_ms, max_body_bytes=max_body_bytes,
        threads=threads, ood_policy=ood_policy, fallback_bundle=fallback,
        log=str(log) if log else None, flush_ms=flush_ms, follow_s=follow,
        admin_token=admin_token, no_admin=no_admin or None,
        log_enabled=False if no_log else None, monitor_s=monitor_every,
        watcher=_watcher(), shadow=shadow)
    serve(source, settings, host=host, port=port, workers=workers, log_level=log_level)


def _watcher() -> str | None:
    """kiln's monitor as the service's watcher, when it is installed (kiln[monitor])."""
    import importlib.util

    if importlib.util.find_spec("scipy") is None:
        return None
    return "kiln.monitor.service:service_watch"
