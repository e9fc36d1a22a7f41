"""Open Inference Protocol v2 tensors ↔ the bundle's records and outputs, including
Triton's binary tensor data extension (what `tritonclient.http` sends by default).

A request body is JSON, or — with the header `Inference-Header-Content-Length: N` — N bytes
of JSON followed by the raw bytes of every input whose `parameters.binary_data_size` is set,
in order. Inputs are the signature's raw *fields* (`numeric` → a number per row, `image` →
the pixel array per row, `categorical` / `binary` / `text` → BYTES), so the service applies
the bundle's preprocessing exactly as `/predict` does. Outputs are each head's
probabilities (classification, multilabel) or values (regression), in JSON or binary.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import orjson

from kiln.serve.problems import RequestRejected, excerpt

HEADER = "inference-header-content-length"
NUMERIC = {"BOOL": np.bool_, "UINT8": np.uint8, "UINT16": np.uint16, "UINT32": np.uint32,
           "UINT64": np.uint64, "INT8": np.int8, "INT16": np.int16, "INT32": np.int32,
           "INT64": np.int64, "FP16": np.float16, "FP32": np.float32, "FP64": np.float64}
DATATYPE_OF = {np.dtype(v): k for k, v in NUMERIC.items()}


def input_metadata(field: Mapping[str, Any]) -> dict[str, Any]:
    """A field as an OIP input: FP32 numbers / pixels, BYTES for everything textual."""
    if field["type"] == "numeric":
        return {"name": field["name"], "datatype": "FP32", "shape": [-1]}
    if field["type"] == "image":
        dims = field.get("raw_shape") or field.get("shape") or [-1]
        return {"name": field["name"], "datatype": "FP32", "shape": [-1, *dims]}
    return {"name": field["name"], "datatype": "BYTES", "shape": [-1]}


def output_metadata(output: Mapping[str, Any]) -> dict[str, Any]:
    return {"name": output["name"], "datatype": "FP32", "shape": [-1, int(output["size"])]}


def split_body(data: bytes, header_length: str | None) -> tuple[Any, bytes]:
    """(parsed JSON header, the binary part) of an infer request."""
    from kiln.serve.body import parse_json

    if header_length is None:
        return parse_json(data), b""
    if not header_length.isdigit() or int(header_length) > len(data):
        raise RequestRejected(f"Inference-Header-Content-Length is {excerpt(header_length)} "
                              f"but the body has {len(data)} bytes", status=400,
                              field="Inference-Header-Content-Length")
    size = int(header_length)
    return parse_json(data[:size], field="Inference-Header-Content-Length"), data[size:]


def request_records(payload: Any, binary: bytes, fields: Sequence[Mapping[str, Any]],
                    *, max_rows: int) -> list[dict[str, Any]]:
    """The infer request's input tensors → one record per row (values checked by the
    bundle afterwards). Raises 400 naming the input for a wrong datatype, shape or size."""
    if not isinstance(payload, Mapping) or not isinstance(payload.get("inputs"), list) \
            or not payload["inputs"]:
        raise RequestRejected("an infer request is a JSON object with a non-empty 'inputs' "
                              "list", status=400, field="inputs")
    by_name = {f["name"]: f for f in fields}
    columns: dict[str, list[Any]] = {}
    offset = 0
    for tensor in payload["inputs"]:
        name, column, offset = _input_column(tensor, binary, offset, by_name)
        if len(column) > max_rows:
            raise RequestRejected(f"input {excerpt(name)}: {len(column)} rows, the limit is "
                                  f"{max_rows} — split the request", status=422, field=name)
        columns[name] = column
    if offset != len(binary):
        raise RequestRejected(f"binary data: the inputs declare {offset} bytes, the body "
                              f"holds {len(binary)} after the JSON header", status=400,
                              field="binary_data_size")
    rows = {len(c) for c in columns.values()}
    if len(rows) != 1:
        raise RequestRejected("every input needs the same first dimension (rows); got "
                              + ", ".join(f"{n}: {len(c)}" for n, c in columns.items()),
                              status=400, field=next(iter(columns)))
    n = rows.pop()
    if n == 0:
        raise RequestRejected("no rows: the first dimension of the inputs is 0", status=400,
                              field=next(iter(columns)))
    return [{name: column[i] for name, column in columns.items()} for i in range(n)]


def _input_column(tensor: Any, binary: bytes, offset: int,
                  fields: Mapping[str, Mapping[str, Any]]) -> tuple[str, list[Any], int]:
    if not isinstance(tensor, Mapping) or not isinstance(tensor.get("name"), str):
        raise RequestRejected("each input is an object with 'name', 'shape', 'datatype' and "
                              "'data' (or binary data)", status=400, field="inputs")
    name = tensor["name"]
    if name not in fields:
        raise RequestRejected(f"unknown input {excerpt(name)} — the model takes "
                              f"{', '.join(fields)}", status=400, field=name)
    shape = tensor.get("shape")
    if not isinstance(shape, list) or not shape or not all(
            isinstance(d, int) and not isinstance(d, bool) and 0 <= d < 2**31 for d in shape):
        raise RequestRejected(f"input {name!r}: 'shape' must be a non-empty list of "
                              f"non-negative integers", status=400, field=name)
    datatype = tensor.get("datatype")
    field = fields[name]
    textual = field["type"] in ("categorical", "binary", "text")
    if datatype not in (("BYTES",) if textual else tuple(NUMERIC)) or datatype == "BOOL":
        wanted = "BYTES" if textual else "FP32 (or another numeric type)"
        raise RequestRejected(f"input {name!r}: datatype {excerpt(datatype)} — this field "
                              f"takes {wanted}", status=400, field=name)
    count = math.prod(shape)
    size = (tensor.get("parameters") or {}).get("binary_data_size") \
        if isinstance(tensor.get("parameters"), Mapping) else None
    if size is not None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 0 \
                or offset + size > len(binary):
            raise RequestRejected(f"input {name!r}: binary_data_size {excerpt(size)} but only "
                                  f"{len(binary) - offset} bytes remain", status=400,
                                  field=name)
        flat = _from_binary(binary[offset:offset + size], datatype, count, name)
        offset += size
    else:
        flat = _from_json(tensor.get("data"), datatype, count, name)
    return name, _rows(flat, shape, field, name), offset


def _from_binary(raw: bytes, datatype: str, count: int, name: str) -> Any:
    if datatype == "BYTES":
        items: list[str] = []
        pos = 0
        while pos < len(raw):
            if pos + 4 > len(raw):
                break
            (length,) = struct.unpack_from("<I", raw, pos)
            if pos + 4 + length > len(raw):
                break
            items.append(raw[pos + 4:pos + 4 + length].decode("utf-8", "replace"))
            pos += 4 + length
        if pos != len(raw) or len(items) != count:
            raise RequestRejected(f"input {name!r}: binary BYTES data does not hold {count} "
                                  f"length-prefixed elements", status=400, field=name)
        return items
    dtype = np.dtype(NUMERIC[datatype]).newbyteorder("<")
    if len(raw) != count * dtype.itemsize:
        raise RequestRejected(f"input {name!r}: shape says {count} {datatype} values "
                              f"({count * dtype.itemsize} bytes), binary_data_size is "
                              f"{len(raw)}", status=400, field=name)
    return np.frombuffer(raw, dtype=dtype)


def _from_json(data: Any, datatype: str, count: int, name: str) -> Any:
    if not isinstance(data, list):
        raise RequestRejected(f"input {name!r}: 'data' must be a list (or send binary data)",
                              status=400, field=name)
    flat = _flatten(data, name)
    if len(flat) != count:
        raise RequestRejected(f"input {name!r}: shape says {count} values, 'data' holds "
                              f"{len(flat)}", status=400, field=name)
    if datatype == "BYTES":
        if not all(isinstance(v, str) for v in flat):
            raise RequestRejected(f"input {name!r}: BYTES data must be strings", status=400,
                                  field=name)
        return flat
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in flat):
        raise RequestRejected(f"input {name!r}: {datatype} data must be numbers", status=400,
                              field=name)
    try:
        return np.asarray(flat, dtype=NUMERIC[datatype])
    except (OverflowError, ValueError):
        raise RequestRejected(f"input {name!r}: a value does not fit {datatype}", status=400,
                              field=name) from None


def _flatten(data: list[Any], name: str, depth: int = 0) -> list[Any]:
    if depth > 8:
        raise RequestRejected(f"input {name!r}: 'data' is nested too deeply", status=400,
                              field=name)
    if not any(isinstance(v, list) for v in data):
        return data
    out: list[Any] = []
    for v in data:
        out.extend(_flatten(v, name, depth + 1) if isinstance(v, list) else [v])
    return out


def _rows(flat: Any, shape: list[int], field: Mapping[str, Any], name: str) -> list[Any]:
    """One value per row: a scalar (numeric, textual fields) or an array (image)."""
    rows = shape[0]
    per_row = math.prod(shape[1:]) if len(shape) > 1 else 1
    if field["type"] == "image":
        if rows and per_row <= 1:
            raise RequestRejected(f"input {name!r}: shape {shape} has no pixels per row — "
                                  f"send [rows, *image shape]", status=400, field=name)
        array = np.asarray(flat, dtype=np.float32).reshape(rows, *shape[1:])
        return list(array)
    if per_row != 1:
        raise RequestRejected(f"input {name!r}: shape {shape} — this field takes one value "
                              f"per row: [rows] or [rows, 1]", status=400, field=name)
    if isinstance(flat, np.ndarray):
        return [float(v) if flat.dtype.kind == "f" else int(v) for v in flat]
    return list(flat)


def response(outputs: Mapping[str, np.ndarray], payload: Mapping[str, Any], *, model: str,
             version: str, parameters: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """(body, headers) of the infer response: JSON, or JSON + binary when asked for."""
    requested = payload.get("outputs")
    params: Mapping[str, Any] = payload["parameters"] \
        if isinstance(payload.get("parameters"), Mapping) else {}
    all_binary = bool(params.get("binary_data_output", False))
    wanted: dict[str, bool] = {}
    if isinstance(requested, list) and requested:
        for out in requested:
            if not isinstance(out, Mapping) or out.get("name") not in outputs:
                shown = out.get("name") if isinstance(out, Mapping) else out
                raise RequestRejected(f"unknown output {excerpt(shown)} — the model gives "
                                      f"{', '.join(outputs)}", status=400, field="outputs")
            out_params: Mapping[str, Any] = out["parameters"] \
                if isinstance(out.get("parameters"), Mapping) else {}
            wanted[out["name"]] = bool(out_params.get("binary_data", all_binary))
    else:
        wanted = {name: all_binary for name in outputs}
    header: dict[str, Any] = {"model_name": model, "model_version": version, "outputs": [],
                              "parameters": parameters}
    if isinstance(payload.get("id"), str):
        header["id"] = payload["id"]
    chunks: list[bytes] = []
    for name, binary in wanted.items():
        array = np.ascontiguousarray(outputs[name])
        array = array.reshape(len(array), -1)
        entry: dict[str, Any] = {"name": name, "datatype": DATATYPE_OF[array.dtype],
                                 "shape": list(array.shape)}
        if binary:
            raw = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
            entry["parameters"] = {"binary_data_size": len(raw)}
            chunks.append(raw)
        else:
            entry["data"] = array.ravel().tolist()
        header["outputs"].append(entry)
    head = orjson.dumps(header)
    if not chunks:
        return head, {"content-type": "application/json"}
    return head + b"".join(chunks), {"content-type": "application/octet-stream",
                                     "Inference-Header-Content-Length": str(len(head))}
