"""The `/predict` body: records (`{"records": [{field: value}, ...]}`) or columns
(`{"inputs": {field: [value, ...]}}`), turned into the list of records the bundle checks.

Only the envelope is checked here (the right keys, lists, equal column lengths, the row
limit); every value is checked by the bundle itself (`Bundle.transform`), so the service
and `Bundle.predict` accept and refuse exactly the same records.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kiln.serve.problems import RequestRejected, excerpt

RECORDS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "Either `records` (one object per row, keyed by the signature's field "
                   "names) or `inputs` (one list of values per field).",
    "properties": {
        "records": {"type": "array", "items": {"type": "object"}, "minItems": 1},
        "inputs": {"type": "object", "additionalProperties": {"type": "array"}},
    },
    "example": {"records": [{"x": 1.0}]},
}


def parse_records(payload: Any, *, max_rows: int) -> list[dict[str, Any]]:
    """`payload` (parsed JSON) → records. Raises `RequestRejected` (422) naming the key."""
    if not isinstance(payload, Mapping):
        raise RequestRejected(f"expected a JSON object with 'records' or 'inputs', got "
                              f"{type(payload).__name__} {excerpt(payload)}", status=422,
                              field="records")
    keys = set(payload) & {"records", "inputs"}
    extra = sorted(set(payload) - {"records", "inputs", "id"})
    if len(keys) != 1 or extra:
        raise RequestRejected("send exactly one of 'records' (a list of objects) or 'inputs' "
                              "(an object of lists)" + (f"; unknown key {excerpt(extra[0])}"
                                                        if extra else ""),
                              status=422, field=extra[0] if extra else "records")
    if "records" in payload:
        records = payload["records"]
        if not isinstance(records, list):
            raise RequestRejected(f"'records' must be a list of objects, got "
                                  f"{type(records).__name__}", status=422, field="records")
    else:
        records = _columns_to_records(payload["inputs"], max_rows)
    if not records:
        raise RequestRejected("'records' is empty — send at least one record", status=422,
                              field="records")
    if len(records) > max_rows:
        raise RequestRejected(f"{len(records)} records in one request, the limit is "
                              f"{max_rows} — split the request", status=422, field="records")
    return records


def _columns_to_records(columns: Any, max_rows: int) -> list[dict[str, Any]]:
    if not isinstance(columns, Mapping) or not columns:
        raise RequestRejected("'inputs' must be an object of lists, one per field",
                              status=422, field="inputs")
    lengths = {}
    for name, values in columns.items():
        if not isinstance(values, list):
            raise RequestRejected(f"inputs[{excerpt(name)}] must be a list of values, one "
                                  f"per row, got {type(values).__name__}", status=422,
                                  field=str(name))
        lengths[name] = len(values)
    if len(set(lengths.values())) != 1:
        shown = ", ".join(f"{excerpt(k)}: {v}" for k, v in list(lengths.items())[:5])
        raise RequestRejected(f"inputs: every column needs the same number of values "
                              f"({shown})", status=422, field=next(iter(lengths)))
    rows = next(iter(lengths.values()))
    if rows > max_rows:
        raise RequestRejected(f"{rows} rows in one request, the limit is {max_rows} — split "
                              f"the request", status=422, field="inputs")
    names = list(columns)
    return [{name: columns[name][i] for name in names} for i in range(rows)]
