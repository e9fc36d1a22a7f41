"""The Open Inference Protocol v2 (KServe / Triton): health, metadata and infer, with and
without `/versions/{version}`, and Triton's binary tensor data extension."""

from __future__ import annotations

import time
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from kiln.serve.body import read_limited, require_type
from kiln.serve.problems import RequestRejected, excerpt
from kiln.serve.served import ServedModel
from kiln.serve.service import Service
from kiln.serve.tensors import HEADER, request_records, response, split_body

router = APIRouter(prefix="/v2")
INFER_TYPES = ("application/json", "application/octet-stream")
INFER_BODY: dict[str, Any] = {"required": True, "content": {
    "application/json": {"schema": {
        "type": "object", "required": ["inputs"],
        "properties": {
            "id": {"type": "string"},
            "inputs": {"type": "array", "minItems": 1, "items": {
                "type": "object", "required": ["name", "shape", "datatype", "data"],
                "properties": {"name": {"type": "string"},
                               "shape": {"type": "array", "items": {"type": "integer"}},
                               "datatype": {"type": "string"},
                               "data": {"type": "array"}}}},
            "outputs": {"type": "array", "items": {"type": "object",
                                                   "properties": {"name": {"type": "string"}}}},
            "parameters": {"type": "object"}}}},
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "bad tensor"}, 404: {"description": "no such model or version"},
    413: {"description": "body too large"}, 415: {"description": "wrong content type"},
    422: {"description": "a value does not fit the signature"},
    503: {"description": "overloaded"}, 504: {"description": "timed out in the queue"}}


def _json(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def _model(service: Service, name: str, version: str | None) -> ServedModel:
    model = service.current
    if name != model.name:
        raise RequestRejected(f"no model {excerpt(name)} — this service serves "
                              f"{model.name!r}", status=404, field="name")
    if version is not None and version != model.version:
        raise RequestRejected(f"{model.name}: version {excerpt(version)} is not being served "
                              f"(serving {model.version})", status=404, field="version")
    return model


@router.get("/health/live", summary="Liveness probe")
async def live() -> Response:
    return _json({"live": True})


@router.get("/health/ready", summary="Readiness probe (use it behind a load balancer)",
            responses={503: {"description": "starting or draining"}})
async def ready(request: Request) -> Response:
    ok = request.app.state.service.ready
    return _json({"ready": ok}, 200 if ok else 503)


@router.get("", summary="Server metadata")
async def server_metadata() -> Response:
    from kiln import __version__

    return _json({"name": "kiln", "version": __version__,
                  "extensions": ["binary_tensor_data"]})


@router.get("/models/{name}", summary="Model metadata", responses=ERRORS)
@router.get("/models/{name}/versions/{version}", summary="Model version metadata",
            responses=ERRORS)
async def metadata(request: Request, name: str, version: str | None = None) -> Response:
    return _json(_model(request.app.state.service, name, version).metadata())


@router.get("/models/{name}/ready", summary="Model readiness", responses=ERRORS)
@router.get("/models/{name}/versions/{version}/ready", summary="Model version readiness",
            responses=ERRORS)
async def model_ready(request: Request, name: str, version: str | None = None) -> Response:
    service: Service = request.app.state.service
    model = _model(service, name, version)
    return _json({"name": model.name, "ready": service.ready}, 200 if service.ready else 503)


@router.post("/models/{name}/infer", summary="Infer (JSON or binary tensors)",
             responses=ERRORS, openapi_extra={"requestBody": INFER_BODY})
@router.post("/models/{name}/versions/{version}/infer", summary="Infer on a version",
             responses=ERRORS, openapi_extra={"requestBody": INFER_BODY})
async def infer(request: Request, name: str, version: str | None = None) -> Response:
    return await infer_endpoint(request)


async def infer_endpoint(request: Request) -> Response:
    """The body of `POST .../infer`, also mounted as a plain Starlette route."""
    service: Service = request.app.state.service
    started = time.perf_counter()
    model = _model(service, request.path_params["name"], request.path_params.get("version"))
    assert service.batcher is not None
    with service.batcher.arriving_request():
        require_type(request, INFER_TYPES, allow_missing=True)
        data = await read_limited(request, service.settings.max_body_bytes)
        payload, binary = split_body(data, request.headers.get(HEADER))
        records = request_records(payload, binary, model.bundle.fields,
                                  max_rows=service.settings.max_rows_per_request)
    outcome = await service.predict(records, request.state.request_id, started, model)
    body, headers = response(outcome.decoded, payload, model=outcome.model.name,
                             version=outcome.model.version,
                             parameters={"request_id": request.state.request_id,
                                         "ood": [a["ood"]["reasons"]
                                                 for a in outcome.answers]})
    return Response(body, headers=headers)
