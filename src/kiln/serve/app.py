"""The app factory: `create_app(bundle_or_ref, settings) -> FastAPI`.

    from kiln.serve import ServeSettings, create_app
    app = create_app("bundles/digits", ServeSettings(no_admin=True))
    # uvicorn.run(app) — or in tests: `with TestClient(app) as client: ...`

The bundle is loaded, verified and warmed up here, before the app exists, so a bad bundle
fails at start-up; the batcher, the log writer and the registry follower start with the
app's lifespan and stop (draining the queue, writing the log) when it ends.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from kiln.errors import KilnError
from kiln.serve import admin_routes, oip_routes, predict_routes
from kiln.serve.context import RequestContext
from kiln.serve.problems import RequestRejected, error_response
from kiln.serve.served import (
    ServedModel,
    bundle_name,
    bundle_version,
    check_compatible,
    load_served,
)
from kiln.serve.service import Service
from kiln.serve.settings import ServeSettings
from kiln.serve.source import RegistryRef, current_version, fetch, parse_source

if TYPE_CHECKING:
    from fastapi.telemetry import TelemetryConfig

    from kiln.bundle import Bundle

log = logging.getLogger("kiln.serve")
FAST_ROUTES = (("/predict", predict_routes.predict_endpoint),
               ("/v2/models/{name}/infer", oip_routes.infer_endpoint),
               ("/v2/models/{name}/versions/{version}/infer", oip_routes.infer_endpoint))


def create_app(bundle_or_ref: str | Path | Bundle,
               settings: ServeSettings | None = None) -> FastAPI:
    """A FastAPI app serving `bundle_or_ref`: a bundle folder or .zip, a loaded `Bundle`,
    or a registry reference `models:/NAME@ALIAS` / `models:/NAME/VERSION`.

    Raises `BundleError` / `RegistryError` for a bundle that cannot be served, and a
    `KilnError` when admin routes are on without a token (set $KILN_ADMIN_TOKEN or
    `no_admin=True`)."""
    settings = (settings or ServeSettings()).with_env()
    if not settings.no_admin and not settings.admin_token:
        raise KilnError("admin routes need a token: set KILN_ADMIN_TOKEN (or pass "
                        "--admin-token), or start with --no-admin", where="KILN_ADMIN_TOKEN")
    model, ref = _first_model(bundle_or_ref, settings)
    fallback = None
    if settings.ood_policy == "fallback":
        if not settings.fallback_bundle:
            raise KilnError("ood_policy 'fallback' needs serve.fallback_bundle (or "
                            "--fallback BUNDLE)", where="serve.fallback_bundle")
        fallback = load_served(settings.fallback_bundle, settings)
    shadow = _shadow_model(settings) if settings.shadow else None
    if shadow is not None:
        check_compatible(model, shadow)
    service = Service(model, settings, fallback=fallback, ref=ref, shadow=shadow)
    return build_app(service)


def build_app(service: Service) -> FastAPI:
    """The routes, handlers and middleware around a `Service`."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    app = FastAPI(title=f"kiln serve · {service.current.name}", lifespan=lifespan,
                  description="Predictions from a kiln production bundle. See docs/serve.md.",
                  telemetry=_telemetry())
    app.state.service = service
    app.include_router(predict_routes.router)
    app.include_router(oip_routes.router)
    if not service.settings.no_admin:
        app.include_router(admin_routes.router)
    app.add_api_route("/metrics", _metrics, methods=["GET"],
                      summary="Prometheus metrics (text format)")
    app.add_api_route("/", _status_page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/status", _status, methods=["GET"],
                      summary="Model, version, uptime, request rate, monitor summary")
    # The hot routes again, as plain Starlette routes in front of their documented FastAPI
    # twins: same code, without FastAPI's per-request dependency machinery (≈0.3 ms).
    app.router.routes[0:0] = [_FastRoute(path, endpoint, methods=["POST"])
                              for path, endpoint in FAST_ROUTES]
    app.add_exception_handler(KilnError, _kiln_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_middleware(RequestContext, metrics=service.metrics)
    return app


class _FastRoute(Route):
    """A plain route that names itself in the scope (for the metrics' `route` label)."""

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["route"] = self
        await super().handle(scope, receive, send)


def _first_model(source: Any, settings: ServeSettings) -> tuple[ServedModel,
                                                                  RegistryRef | None]:
    from kiln.bundle import Bundle

    if isinstance(source, Bundle):
        from kiln.serve.ood import OutOfDistribution

        model = ServedModel(source, settings.model_name or bundle_name(source),
                            settings.model_version or bundle_version(source), str(source.path),
                            OutOfDistribution(source, z=settings.ood_z,
                                              confidence_quantile=
                                              settings.low_confidence_quantile))
        model.warm_up(settings.max_batch_rows)
        return model, None
    parsed = parse_source(source)
    if isinstance(parsed, RegistryRef):
        version = current_version(parsed)
        return load_served(fetch(parsed, version), settings, name=parsed.name,
                           version=version), parsed
    return load_served(parsed, settings, name=settings.model_name,
                       version=settings.model_version), None


def _shadow_model(settings: ServeSettings) -> ServedModel:
    """The shadow model (`--shadow`): a bundle path or a registry reference, resolved once."""
    assert settings.shadow is not None
    parsed = parse_source(settings.shadow)
    if isinstance(parsed, RegistryRef):
        version = current_version(parsed)
        return load_served(fetch(parsed, version), settings, name=parsed.name,
                           version=version)
    return load_served(parsed, settings)


async def _metrics(request: Request) -> Response:
    service: Service = request.app.state.service
    m = service.metrics
    m.queue_rows.set(service.batcher.queued_rows if service.batcher else 0)
    m.log_pending.set(service.writer.pending if service.writer else 0)
    body = m.render() + service.status.snapshot.prometheus.encode()
    return Response(body, media_type=m.content_type)


async def _status(request: Request) -> Response:
    from starlette.responses import JSONResponse

    service: Service = request.app.state.service
    return JSONResponse(service.status.to_dict())


async def _status_page(request: Request) -> Response:
    from starlette.responses import HTMLResponse

    from kiln.serve.status_page import render

    service: Service = request.app.state.service
    return HTMLResponse(render(service.status.to_dict()))


def _answer_error(request: Request, exc: KilnError, status: int) -> Response:
    request_id = getattr(request.state, "request_id", None)
    request.app.state.service.log_error(status, getattr(exc, "kind", "error"), request_id)
    return error_response(exc, request_id=request_id)


async def _kiln_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, KilnError)
    return _answer_error(request, exc, int(exc.http_status))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    rejected = RequestRejected(str(exc.detail), status=exc.status_code,
                               headers=dict(exc.headers or {}))
    return _answer_error(request, rejected, exc.status_code)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(p) for p in first.get("loc", ()))
    rejected = RequestRejected(f"{where}: {first.get('msg', 'invalid')}", status=422,
                               field=where or None)
    return _answer_error(request, rejected, 422)


def _telemetry() -> TelemetryConfig:
    """FastAPI's native OpenTelemetry when a provider is configured as the app is built
    (e.g. under `opentelemetry-instrument`); otherwise off, so that no request pays for
    asking three global providers whether they are configured (≈3% of the event loop's
    time under load, measured with py-spy)."""
    import os

    from fastapi.telemetry import TelemetryConfig
    from fastapi.telemetry._asgi import _unconfigured
    from opentelemetry import metrics, trace
    from opentelemetry._logs import get_logger_provider

    if os.environ.get("FASTAPI_OTEL_AUTO_CONFIGURE", "").lower() == "true" or not all(
            _unconfigured(p) for p in (trace.get_tracer_provider(),
                                       metrics.get_meter_provider(), get_logger_provider())):
        return TelemetryConfig()
    return TelemetryConfig(tracing=False, metrics=False, logs=False)

