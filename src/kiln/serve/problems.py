"""Every answer the service gives to a request it cannot serve: status + `{"error", "field",
"record"}`.

A `KilnError` raised anywhere below (a `BundleError` for a record that does not fit the
signature, a `DataError` for an image that is not one) becomes its `http_status`; the
service's own refusals (too large, wrong content type, queue full, too late) are
`RequestRejected` with the status to answer. Messages never quote more than a short
excerpt of what the client sent.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.responses import Response

from kiln.errors import KilnError

EXCERPT = 40  # characters of client input an error message may quote
_RECORD_FIELD = re.compile(r"^record (\d+): (?:unknown )?field '([^']+)'")
_RECORD = re.compile(r"^record (\d+):")


class RequestRejected(KilnError):
    """A request the service refuses; `status` is the HTTP answer, `field` / `record` say
    where in the request the problem is, `headers` go with the answer (Retry-After)."""

    kind = "request"

    def __init__(self, message: str, *, status: int = 400, field: str | None = None,
                 record: int | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message, where=field)
        self.http_status = status
        self.field = field
        self.record = record
        self.headers = headers or {}


# `Bundle` errors about a record say where: records[i] or records[i].field
_WHERE = re.compile(r"records\[(\d+)\](?:\.(.+))?")


def excerpt(value: Any) -> str:
    """A short, printable excerpt of client input for an error message."""
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= EXCERPT else text[:EXCERPT - 3] + "..."


def locate(exc: KilnError) -> tuple[str | None, int | None]:
    """(field, record) an error is about: its own attributes, else the bundle's `where`
    (`records[3].age`, or `records[3]` for the record as a whole), else read from the
    message ("record 3: field 'age' ...")."""
    if isinstance(exc, RequestRejected):
        return exc.field, exc.record
    where = _WHERE.fullmatch(exc.where or "")
    if where:
        return where.group(2), int(where.group(1))
    message = str(exc)
    match = _RECORD_FIELD.match(message)
    if match:
        return match.group(2), int(match.group(1))
    match = _RECORD.match(message)
    record = int(match.group(1)) if match else None
    return exc.where, record


def error_response(exc: KilnError, *, request_id: str | None = None) -> Response:
    """The JSON answer to `exc`; a 4xx (or 503/504 for back-pressure), never a 500."""
    field, record = locate(exc)
    status = int(getattr(exc, "http_status", 400))
    body: dict[str, Any] = {"error": _short(str(exc)), "field": field, "record": record}
    if request_id is not None:
        body["request_id"] = request_id
    headers = dict(getattr(exc, "headers", {}) or {})
    return Response(orjson.dumps(body), status_code=status, headers=headers,
                    media_type="application/json")


def _short(message: str, limit: int = 500) -> str:
    return message if len(message) <= limit else message[:limit - 3] + "..."
