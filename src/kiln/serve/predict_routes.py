"""`POST /predict` (JSON records or columns), `POST /predict/image` (an upload) and
`POST /feedback` (delayed ground truth, joined to the prediction log by request id)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from kiln.errors import DataError
from kiln.serve.body import JSON_TYPES, parse_json, read_limited, require_type
from kiln.serve.problems import RequestRejected, excerpt
from kiln.serve.records import RECORDS_SCHEMA, parse_records
from kiln.serve.service import Outcome, Service
from kiln.serve.uploads import UPLOAD_SCHEMA, image_field, read_upload

router = APIRouter()
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"description": text} for code, text in (
        (400, "malformed body"), (413, "body too large"), (415, "wrong content type"),
        (422, "a record does not fit the model's signature"),
        (503, "overloaded: retry after Retry-After seconds"),
        (504, "queued past timeout_ms, not run"))}
FEEDBACK_ITEM: dict[str, Any] = {
    "type": "object", "required": ["request_id", "labels"], "additionalProperties": False,
    "properties": {"request_id": {"type": "string"},
                   "labels": {"type": "array", "minItems": 1,
                              "items": {"type": ["string", "number", "boolean"]}}}}
FEEDBACK_SCHEMA: dict[str, Any] = {
    "required": True,
    "content": {"application/json": {"schema": {"oneOf": [
        FEEDBACK_ITEM, {"type": "array", "items": FEEDBACK_ITEM, "minItems": 1,
                        "maxItems": 1000}]}}}}


def answer(outcome: Outcome, request_id: str) -> Response:
    body = {"request_id": request_id, "model": outcome.model.name,
            "version": outcome.model.version, "predictions": outcome.answers}
    return Response(orjson.dumps(body), media_type="application/json")


@router.post("/predict", responses=ERRORS, summary="Predict on JSON records or columns",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/json": {"schema": RECORDS_SCHEMA}}}})
async def predict(request: Request) -> Response:
    return await predict_endpoint(request)


async def predict_endpoint(request: Request) -> Response:
    """The body of `POST /predict`, also mounted as a plain Starlette route (see
    `kiln.serve.app.FAST_ROUTES`): FastAPI's per-request machinery costs more than the
    model on small requests."""
    service: Service = request.app.state.service
    started = time.perf_counter()
    assert service.batcher is not None
    with service.batcher.arriving_request():
        require_type(request, JSON_TYPES)
        data = await read_limited(request, service.settings.max_body_bytes)
        records = parse_records(parse_json(data),
                                max_rows=service.settings.max_rows_per_request)
    outcome = await service.predict(records, request.state.request_id, started)
    return answer(outcome, request.state.request_id)


@router.post("/predict/image", responses=ERRORS, summary="Predict on one PNG or JPEG upload",
             openapi_extra={"requestBody": UPLOAD_SCHEMA})
async def predict_image(request: Request) -> Response:
    service: Service = request.app.state.service
    started = time.perf_counter()
    name = image_field(service.current.bundle.fields)
    content = await read_upload(request, limit=service.settings.max_body_bytes,
                                max_pixels=service.settings.max_image_pixels)
    outcome = await service.predict([{name: content}], request.state.request_id, started)
    return answer(outcome, request.state.request_id)


@router.post("/feedback", summary="Send the true labels of an earlier request",
             responses={400: {"description": "malformed body"},
                        422: {"description": "wrong number of labels"},
                        503: {"description": "the prediction log is off"}},
             openapi_extra={"requestBody": FEEDBACK_SCHEMA})
async def feedback(request: Request) -> Response:
    """`{"request_id": ..., "labels": [one per record, in order]}` or a list of them.
    Answers which request ids were stored and which the log does not know."""
    service: Service = request.app.state.service
    require_type(request, JSON_TYPES)
    items = _feedback_items(parse_json(await read_limited(
        request, service.settings.max_body_bytes)))
    writer = service.writer
    if writer is None:
        raise RequestRejected("the prediction log is off (--no-log): feedback cannot be "
                              "joined to anything", status=503, field=None)
    # rows of a request answered a moment ago may still be in the writer's queue
    await asyncio.to_thread(writer.wait_processed, writer.enqueued,
                            service.settings.flush_ms / 1000.0 * 4 + 5.0)
    stored, unknown = await asyncio.to_thread(_store, writer.connection, items)
    return Response(orjson.dumps({"stored": stored, "unknown": unknown}),
                    media_type="application/json")


def _feedback_items(payload: Any) -> list[tuple[str, list[Any]]]:
    many = payload if isinstance(payload, list) else [payload]
    if not many or len(many) > 1000:
        raise RequestRejected("send 1 to 1000 feedback objects", status=422,
                              field="request_id")
    items = []
    for index, item in enumerate(many):
        if not isinstance(item, dict) or not isinstance(item.get("request_id"), str) \
                or not isinstance(item.get("labels"), list) or not item["labels"] \
                or set(item) - {"request_id", "labels"}:
            raise RequestRejected(f"feedback {index}: expected {{\"request_id\": \"...\", "
                                  f"\"labels\": [...]}}, got {excerpt(item)}", status=422,
                                  field="labels" if isinstance(item, dict)
                                  and "request_id" in item else "request_id", record=index)
        for label in item["labels"]:
            if not isinstance(label, (str, int, float, bool)):
                raise RequestRejected(f"feedback {index}: a label is a string, number or "
                                      f"boolean, got {excerpt(label)}", status=422,
                                      field="labels", record=index)
        items.append((item["request_id"], item["labels"]))
    return items


def _store(connect: Any, items: list[tuple[str, list[Any]]]) -> tuple[list[str], list[str]]:
    from kiln import prediction_log

    conn = connect()
    try:
        stored: list[str] = []
        unknown: list[str] = []
        for index, (request_id, labels) in enumerate(items):
            try:
                found = prediction_log.add_feedback(conn, request_id, labels)
            except DataError as exc:
                raise RequestRejected(str(exc), status=422, field="labels",
                                      record=index) from None
            (stored if found else unknown).append(request_id)
        return stored, unknown
    finally:
        conn.close()
