"""Every class of bad input gets a 4xx naming where the problem is — never a 5xx."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pytest
from bundle_helpers import Parts
from serve_helpers import ClientFactory

GOOD = {"a": 5.0, "b": 0.5, "city": "paris", "note": "red fast"}


def post(c: Any, body: Any, **kw: Any) -> Any:
    return c.post("/predict", content=json.dumps(body), headers={
        "content-type": "application/json", **kw.pop("headers", {})}, **kw)


def check(response: Any, status: int, field: str | None, record: int | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["field"] == field, body
    assert body["record"] == record, body
    assert body["error"]
    assert response.headers["x-request-id"] == body["request_id"]


@pytest.mark.parametrize(("record", "field"), [
    ({k: v for k, v in GOOD.items() if k != "a"}, "a"),            # missing field
    ({**GOOD, "colour": "red"}, "colour"),                          # unknown field
    ({**GOOD, "a": "five"}, "a"),                                   # string for a number
    ({**GOOD, "a": [1, 2]}, "a"),                                   # wrong type
    ({**GOOD, "note": 3}, "note"),                                  # number for a text
    ({**GOOD, "a": True}, "a"),                                     # boolean for a number
])
def test_record_problems_name_record_and_field(client: ClientFactory, mixed: Parts,
                                               record: dict[str, Any], field: str) -> None:
    with client(mixed.path) as c:
        check(post(c, {"records": [GOOD, record]}), 422, field, 1)


def test_column_form_problems(client: ClientFactory, mixed: Parts) -> None:
    with client(mixed.path) as c:
        ok = post(c, {"inputs": {k: [v, v] for k, v in GOOD.items()}})
        assert ok.status_code == 200 and len(ok.json()["predictions"]) == 2
        ragged = {k: [v, v] for k, v in GOOD.items()} | {"a": [1.0]}
        check(post(c, {"inputs": ragged}), 422, "a")
        check(post(c, {"inputs": {**{k: [v] for k, v in GOOD.items()}, "b": 0.5}}), 422, "b")


def test_envelope_problems(client: ClientFactory, mixed: Parts) -> None:
    with client(mixed.path, max_rows_per_request=3) as c:
        check(post(c, {"records": [GOOD] * 4}), 422, "records")            # too many rows
        check(post(c, {"records": []}), 422, "records")                     # empty
        check(post(c, {"rows": [GOOD]}), 422, "rows")                       # unknown key
        check(post(c, [GOOD]), 422, "records")                              # not an object
        check(post(c, {"records": [GOOD, 7]}), 422, None, 1)                # not a record
        check(c.post("/predict", content=b'{"records": [', headers={
            "content-type": "application/json"}), 400, None)                 # malformed
        check(c.post("/predict", content=b'{"records": [{"a": NaN}]}', headers={
            "content-type": "application/json"}), 400, None)                 # NaN literal
        check(c.post("/predict", content=json.dumps({"records": [GOOD]}),
                     headers={"content-type": "text/plain"}), 415, "content-type")


def test_body_limit_counts_bytes_received(client: ClientFactory, mixed: Parts) -> None:
    body = json.dumps({"records": [GOOD] * 200}).encode()
    with client(mixed.path, max_body_bytes=2000) as c:
        check(post(c, {"records": [GOOD] * 200}), 413, "body")

        def chunks() -> Any:  # chunked: no Content-Length to trust
            for i in range(0, len(body), 500):
                yield body[i:i + 500]

        response = c.post("/predict", content=chunks(),
                          headers={"content-type": "application/json"})
        check(response, 413, "body")


def test_error_messages_quote_only_an_excerpt(client: ClientFactory, mixed: Parts) -> None:
    with client(mixed.path) as c:
        response = post(c, {"records": [{**GOOD, "a": "x" * 5000}]})
        assert response.status_code == 422
        assert len(response.json()["error"]) < 300


def test_pixels_of_the_wrong_shape_or_not_finite(client: ClientFactory, digits: Parts) -> None:
    with client(digits.path) as c:
        check(post(c, {"records": [{"image": [[1.0] * 8] * 7}]}), 422, "image", 0)
        check(post(c, {"records": [{"image": [[1.0, "x"]] * 8}]}), 422, "image", 0)
        check(post(c, {"records": [{"image": "/etc/passwd"}]}), 422, "image", 0)
        check(post(c, {"records": [{"image": [[1e39] * 8] * 8}]}), 422, "image", 0)


def test_oip_tensor_problems(client: ClientFactory, digits: Parts) -> None:
    url = "/v2/models/digits_cnn/infer"
    good = {"name": "image", "shape": [1, 1, 8, 8], "datatype": "FP32", "data": [0.0] * 64}
    with client(digits.path) as c:
        assert c.post(url, json={"inputs": [good]}).status_code == 200
        check(c.post(url, json={"inputs": [{**good, "datatype": "BYTES"}]}), 400, "image")
        check(c.post(url, json={"inputs": [{**good, "shape": [1, 1, 8, 7]}]}), 400, "image")
        check(c.post(url, json={"inputs": [{**good, "shape": [1, 1, 7, 9],
                                            "data": [0.0] * 63}]}), 422, "image", 0)
        check(c.post(url, json={"inputs": [{**good, "name": "pixels"}]}), 400, "pixels")
        check(c.post(url, json={"inputs": [{**good, "data": ["a"] * 64}]}), 400, "image")
        check(c.post(url, json={"inputs": []}), 400, "inputs")
        check(c.post(url, json={"inputs": [good], "outputs": [{"name": "nope"}]}), 400,
              "outputs")
        check(c.post("/v2/models/other/infer", json={"inputs": [good]}), 404, "name")
        check(c.post("/v2/models/digits_cnn/versions/0/infer", json={"inputs": [good]}),
              404, "version")
        raw = np.zeros(64, np.float32).tobytes()
        header = json.dumps({"inputs": [{**{k: v for k, v in good.items() if k != "data"},
                                         "parameters": {"binary_data_size": len(raw)}}]})
        binary = {"content-type": "application/octet-stream"}
        ok = c.post(url, content=header.encode() + raw,
                    headers={**binary, "Inference-Header-Content-Length": str(len(header))})
        assert ok.status_code == 200, ok.text
        check(c.post(url, content=header.encode() + raw, headers={      # the header lies
            **binary, "Inference-Header-Content-Length": str(len(header) + 10_000)}),
              400, "Inference-Header-Content-Length")
        check(c.post(url, content=header.encode() + raw[:-4], headers={  # data too short
            **binary, "Inference-Header-Content-Length": str(len(header))}), 400, "image")
        check(c.post(url, content=header.encode() + raw + b"xx", headers={  # too long
            **binary, "Inference-Header-Content-Length": str(len(header))}), 400,
              "binary_data_size")


def test_image_uploads(client: ClientFactory, digits: Parts, mixed: Parts) -> None:
    from PIL import Image

    def png(size: tuple[int, int], fmt: str = "PNG") -> bytes:
        buffer = io.BytesIO()
        Image.new("L", size, 128).save(buffer, format=fmt)
        return buffer.getvalue()

    with client(digits.path, max_image_pixels=10_000) as c:
        ok = c.post("/predict/image", files={"file": ("seven.png", png((8, 8)), "image/png")})
        assert ok.status_code == 200, ok.text
        assert ok.json()["predictions"][0]["label"] in [str(i) for i in range(10)]
        check(c.post("/predict/image", files={"file": ("x.png", b"not an image")}), 415,
              "file")
        check(c.post("/predict/image", files={"file": ("x.gif", png((8, 8), "GIF"))}), 415,
              "file")
        check(c.post("/predict/image", files={"file": ("bomb.png", png((200, 200)))}), 413,
              "file")
        check(c.post("/predict/image", files={"other": ("x.png", png((8, 8)))}), 422, "file")
        check(c.post("/predict/image", json={"records": []}), 415, "content-type")
    with client(mixed.path) as c:
        check(c.post("/predict/image", files={"file": ("x.png", png((8, 8)))}), 404, "file")
