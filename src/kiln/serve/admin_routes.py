"""`POST /admin/reload` and `POST /admin/rollback`, behind a bearer token.

The token is compared in constant time (`hmac.compare_digest`). No `Authorization` header
→ 401 with `WWW-Authenticate: Bearer`; a wrong token → 403. A service started with
`--no-admin` has no admin routes at all (404).
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from kiln.serve.body import JSON_TYPES, parse_json, read_limited, require_type
from kiln.serve.problems import RequestRejected
from kiln.serve.service import Service

router = APIRouter(prefix="/admin")
RELOAD_BODY: dict[str, Any] = {"required": False, "content": {"application/json": {
    "schema": {"type": "object", "properties": {
        "bundle": {"type": "string",
                   "description": "a bundle path or models:/NAME@ALIAS; omit to re-resolve "
                                  "the registry reference the service started with"}}}}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "no bearer token"}, 403: {"description": "wrong token"},
    409: {"description": "refused; the current version keeps serving"}}


def authorize(request: Request) -> Service:
    service: Service = request.app.state.service
    token = service.settings.admin_token or ""
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not given:
        raise RequestRejected("admin routes need `Authorization: Bearer $KILN_ADMIN_TOKEN`",
                              status=401, field="authorization",
                              headers={"WWW-Authenticate": "Bearer"})
    if not token or not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise RequestRejected("wrong admin token", status=403, field="authorization")
    return service


@router.post("/reload", responses=ERRORS, summary="Load a bundle beside the current one, "
             "then swap", openapi_extra={"requestBody": RELOAD_BODY})
async def reload(request: Request) -> Response:
    service = authorize(request)
    data = await read_limited(request, 64 * 1024)
    source = None
    if data.strip():
        require_type(request, JSON_TYPES)
        payload = parse_json(data)
        if not isinstance(payload, dict) or set(payload) - {"bundle"} or not isinstance(
                payload.get("bundle", ""), str):
            raise RequestRejected('expected {"bundle": "PATH or models:/NAME@ALIAS"}',
                                  status=422, field="bundle")
        source = payload.get("bundle") or None
    return Response(orjson.dumps(await service.reload(source)),
                    media_type="application/json")


@router.post("/rollback", responses=ERRORS, summary="Serve the previous version again")
async def rollback(request: Request) -> Response:
    service = authorize(request)
    return Response(orjson.dumps(await service.rollback()), media_type="application/json")
