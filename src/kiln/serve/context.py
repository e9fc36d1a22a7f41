"""Per-request context as plain ASGI middleware (cheaper than BaseHTTPMiddleware): a
request id (the client's `X-Request-ID` when it is sane, else a new one), echoed in the
answer's header, and the request count and latency by route template and status code."""

from __future__ import annotations

import os
import re
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kiln.serve.telemetry import Metrics

_SANE_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,64}$")


class RequestContext:
    """Sets `request.state.request_id` and records `kiln_requests_total` / latency."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}  # labels() is not free

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _client_id(scope) or os.urandom(16).hex()  # as uuid4().hex, cheaper
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            key = (path, status)
            if key not in self._children:
                self._children[key] = (self.metrics.requests.labels(path, str(status)),
                                       self.metrics.latency.labels(path))
            count, latency = self._children[key]
            count.inc()
            latency.observe(time.perf_counter() - started)


def _client_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            text = value.decode("latin-1")
            return text if _SANE_ID.match(text) else None
    return None
