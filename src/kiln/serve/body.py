"""Reading a request body strictly: the content type first (415), then the bytes as they
arrive, stopping at the limit (413) whatever Content-Length claimed, then JSON (400)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from kiln.serve.problems import RequestRejected

JSON_TYPES = ("application/json",)


def content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def require_type(request: Request, accepted: tuple[str, ...], *,
                 allow_missing: bool = False) -> str:
    """The request's media type, or 415 naming the accepted ones."""
    media = content_type(request)
    if media in accepted or (allow_missing and media == ""):
        return media
    raise RequestRejected(f"content type {media or '(none)'!r} is not accepted here — send "
                          f"{' or '.join(accepted)}", status=415, field="content-type")


async def read_limited(request: Request, limit: int) -> bytes:
    """The whole body, or 413 as soon as more than `limit` bytes have been received."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)  # an honest client learns early; a liar is caught below
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json(data: bytes, *, field: str | None = None) -> Any:
    """orjson's parse, or 400 with the position of the first problem."""
    if not data:
        raise RequestRejected("empty body — send a JSON object", status=400, field=field)
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise RequestRejected(f"malformed JSON: {str(exc).split(':')[0]} (at character "
                              f"{exc.pos})", status=400, field=field) from None


def _too_large(limit: int) -> RequestRejected:
    return RequestRejected(f"request body larger than {limit:,} bytes — send fewer records "
                           f"per request (or raise serve.max_body_bytes)", status=413,
                           field="body")
