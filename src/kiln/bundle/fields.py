"""The raw input fields a bundle accepts, and the check of records against them.

A *field* is one raw column as a client sends it (a number, a category, a text, an image);
a model *input* is what preprocessing makes of one or more fields. `signature.json` holds
both: the fields with their types, the ranges and categories seen in training, and the
model inputs and outputs. `records_to_columns` turns JSON-like records into the columns the
preprocessor transforms, naming the record and field of any value that cannot be used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.bundle.profile import field_text
from kiln.errors import BundleError

if TYPE_CHECKING:
    from kiln.blueprint.schema import FeatureSpec

MAX_CATEGORIES = 1000  # a longer vocabulary is cut in signature.json (most frequent first)
EXPECTED = {"numeric": "a number", "binary": "a number, a boolean or a string",
            "categorical": "a string or a number", "text": "a string",
            "image": "an array of pixel values, a file path or encoded bytes"}


def describe_fields(features: Sequence[FeatureSpec], columns: Mapping[str, Sequence[Any]],
                    input_of: Mapping[str, str]) -> list[dict[str, Any]]:
    """One field description per feature, from the training values in `columns`.

    numeric: min/max seen; categorical and binary: the categories seen (most frequent first);
    text: longest length in tokens; image: the raw array shape when every image shares one.
    `input_of` maps a feature name to the model input it feeds.
    """
    fields = []
    for feature in features:
        values = list(columns[feature.name])
        present = [v for v in values if not _missing(v)]
        field: dict[str, Any] = {"name": feature.name, "type": feature.type,
                                 "input": input_of.get(feature.name, feature.name),
                                 "missing": feature.missing,
                                 "missing_in_training": len(values) - len(present)}
        if feature.type == "numeric":
            numbers = np.asarray(present, dtype=np.float64)
            field["min"] = float(numbers.min()) if numbers.size else None
            field["max"] = float(numbers.max()) if numbers.size else None
        elif feature.type in ("categorical", "binary"):
            field["categories"] = _frequent([field_text(v) for v in present])
        elif feature.type == "text":
            field["max_length"] = feature.max_length
        else:
            field["shape"] = feature.shape
            field["raw_shape"] = _common_shape(present)
            pixels = [np.asarray(v, dtype=np.float32) for v in present
                      if not isinstance(v, (str, bytes))]
            if pixels:
                field["min"] = float(min(p.min() for p in pixels))
                field["max"] = float(max(p.max() for p in pixels))
        fields.append(field)
    return fields


def records_to_columns(records: Sequence[Mapping[str, Any]],
                       fields: Sequence[Mapping[str, Any]], *,
                       allow_paths: bool = False) -> dict[str, list[Any]]:
    """Check `records` against `fields` and return one list of values per field.

    Raises `BundleError` naming the record index and field for: a record that is not an
    object, a missing field (None is accepted only where the feature imputes), a value of
    the wrong type, a field the bundle does not know, and an image given as a file path
    unless `allow_paths` (a path is read from the local disk: never let a client choose it).
    """
    if isinstance(records, Mapping) or not isinstance(records, Sequence):
        raise BundleError(f"records: expected a list of objects (one per row), got "
                          f"{type(records).__name__}")
    names = [f["name"] for f in fields]
    columns: dict[str, list[Any]] = {name: [] for name in names}
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise BundleError(f"record {index}: expected an object with fields "
                              f"{', '.join(names)}, got {type(record).__name__}")
        unknown = sorted(set(record) - set(names))
        if unknown:
            raise BundleError(f"record {index}: unknown field {', '.join(map(repr, unknown))}"
                              f" — the model takes {', '.join(names)}")
        for field in fields:
            value = _checked(record, field, index)
            if field["type"] == "image" and isinstance(value, str) and not allow_paths:
                raise BundleError(f"record {index}: field {field['name']!r} is a file path; "
                                  f"send pixel values or image bytes, or read local files with "
                                  f"allow_paths=True")
            columns[field["name"]].append(value)
    return columns


def _checked(record: Mapping[str, Any], field: Mapping[str, Any], index: int) -> Any:
    name, kind = field["name"], field["type"]
    if name not in record:
        raise BundleError(f"record {index}: field {name!r} is missing — it should be "
                          f"{EXPECTED[kind]}")
    value = record[name]
    if _missing(value):
        if field.get("missing") == "impute":
            return None
        raise BundleError(f"record {index}: field {name!r} is null and this model cannot "
                          f"fill it in — send {EXPECTED[kind]}")
    if not _type_ok(value, kind):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise BundleError(f"record {index}: field {name!r} should be {EXPECTED[kind]}, got "
                          f"{type(value).__name__} {shown}")
    if kind == "image" and not isinstance(value, (str, bytes, bytearray)):
        return _pixels(value, field, index)
    return value


def _type_ok(value: Any, kind: str) -> bool:
    is_number = isinstance(value, (int, float, np.integer, np.floating))
    if kind == "numeric":
        return is_number and not isinstance(value, (bool, np.bool_))
    if kind in ("binary", "categorical"):
        return is_number or isinstance(value, (str, bool, np.bool_))
    if kind == "text":
        return isinstance(value, str)
    return isinstance(value, (str, bytes, bytearray, list, tuple, np.ndarray))


def _pixels(value: Any, field: Mapping[str, Any], index: int) -> np.ndarray:
    name = field["name"]
    try:
        array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise BundleError(f"record {index}: field {name!r} should be a (nested) list of "
                          f"numbers — found a ragged or non-numeric array") from None
    raw_shape = field.get("raw_shape")
    if raw_shape and array.size != math.prod(raw_shape):
        raise BundleError(f"record {index}: field {name!r} has {array.size} pixel values "
                          f"(shape {list(array.shape)}), the model was trained on images of "
                          f"shape {raw_shape}")
    if raw_shape and list(array.shape) != list(raw_shape):
        array = array.reshape(raw_shape)  # e.g. a flat list of 64 values for an 8×8 image
    if not np.all(np.isfinite(array)):
        raise BundleError(f"record {index}: field {name!r} holds NaN or infinite pixel values")
    return array


def _missing(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, (float, np.floating)) and math.isnan(value)


def _frequent(values: list[str]) -> list[str]:
    from collections import Counter

    return [v for v, _ in Counter(values).most_common(MAX_CATEGORIES)]


def _common_shape(values: list[Any]) -> list[int] | None:
    shapes = {np.shape(v) for v in values if not isinstance(v, (str, bytes))}
    return list(next(iter(shapes))) if len(shapes) == 1 else None


def out_of_range(columns: Mapping[str, Sequence[Any]],
                 fields: Sequence[Mapping[str, Any]]) -> list[list[str]]:
    """Per record, what lies outside what training saw: a number or pixel beyond the
    min/max, a category never seen (the model maps it to its unknown bucket). `columns` as
    returned by `records_to_columns`; missing values are not flagged."""
    rows = len(next(iter(columns.values()))) if columns else 0
    flags: list[list[str]] = [[] for _ in range(rows)]
    for field in fields:
        name, low, high = field["name"], field.get("min"), field.get("max")
        known = set(field.get("categories") or [])
        complete = len(known) < MAX_CATEGORIES  # a cut vocabulary cannot say "unseen"
        for row, value in enumerate(columns[field["name"]]):
            is_file = isinstance(value, (str, bytes, bytearray))  # an image path or upload
            if value is None or (is_file and field["type"] == "image"):
                continue
            if field["type"] in ("numeric", "image") and low is not None and high is not None:
                lo, hi = float(np.min(value)), float(np.max(value))
                if lo < low:
                    flags[row].append(f"{name}: {lo:.4g} below the training minimum {low:.4g}")
                if hi > high:
                    flags[row].append(f"{name}: {hi:.4g} above the training maximum {high:.4g}")
            elif field["type"] in ("categorical", "binary") and complete \
                    and field_text(value) not in known:
                flags[row].append(f"{name}: {value!r} was not seen in training")
    return flags
