"""The raw input fields a bundle accepts, and the check of records against them.

A *field* is one raw column as a client sends it (a number, a category, a text, an image);
a model *input* is what preprocessing makes of one or more fields. `signature.json` holds
both: the fields with their types, the ranges and categories seen in training, and the
model inputs and outputs. `read_records` turns JSON-like records into the columns the
preprocessor transforms by the rule of `kiln.bundle.values`, naming the record and field of
any value that cannot be used.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.bundle.profile import field_text
from kiln.bundle.values import EXPECTED, check_value, where
from kiln.errors import BundleError

if TYPE_CHECKING:
    from kiln.blueprint.schema import FeatureSpec

MAX_CATEGORIES = 1000  # a longer vocabulary is cut in signature.json (most frequent first)
FAST_LIMIT = 1.7e308  # a plain number inside ±this is finite and converts to float
__all__ = ["EXPECTED", "Records", "describe_fields", "out_of_range", "read_records",
           "records_to_columns"]


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


@dataclass
class Records:
    """Checked records: one list of values per field (None: impute it), and per record the
    notes on what was done to its values (imputed, clipped) for `Bundle.flags`."""

    columns: dict[str, list[Any]]
    notes: list[list[str]]


def read_records(records: Sequence[Mapping[str, Any]], fields: Sequence[Mapping[str, Any]], *,
                 non_finite: str = "error", allow_paths: bool = False,
                 first: int = 0) -> Records:
    """Check `records` against `fields` by the rule of `kiln.bundle.values`.

    Raises `BundleError` naming the record index and field (`where="records[i].field"`) for:
    a record that is not an object, a field the bundle does not know, a value the rule
    refuses, a record with no value at all (nothing to predict from), and an image given as
    a file path unless `allow_paths` (a path is read from the local disk: never let a
    client choose it). `first` is the index of `records[0]` (for a chunk of a longer list).
    """
    if isinstance(records, Mapping) or not isinstance(records, Sequence):
        raise BundleError(f"records: expected a list of objects (one per row), got "
                          f"{type(records).__name__}", where="records")
    names = [f["name"] for f in fields]
    known = frozenset(names)
    columns: dict[str, list[Any]] = {name: [] for name in names}
    notes: list[list[str]] = []
    for index, record in enumerate(records, start=first):
        if not isinstance(record, Mapping):
            raise BundleError(f"record {index}: expected an object with fields "
                              f"{', '.join(names)}, got {type(record).__name__}",
                              where=f"records[{index}]")
        if not known.issuperset(record.keys()):
            unknown = sorted(set(record) - known)
            raise BundleError(f"record {index}: unknown field {', '.join(map(repr, unknown))}"
                              f" — the model takes {', '.join(names)}",
                              where=where(index, str(unknown[0])))
        notes.append(_read_record(record, fields, index, columns, non_finite, allow_paths))
    return Records(columns, notes)


def _read_record(record: Mapping[str, Any], fields: Sequence[Mapping[str, Any]], index: int,
                 columns: dict[str, list[Any]], non_finite: str,
                 allow_paths: bool) -> list[str]:
    """Append one record's checked values to `columns`; returns its notes. A finite float or
    int in a numeric field — nearly every value a client sends — is taken as it is (what
    `check_value` gives it); everything else goes through the full rule."""
    notes: list[str] = []
    missing = 0
    for field in fields:
        name = field["name"]
        value = record.get(name)
        if field["type"] == "numeric" and (type(value) is float or type(value) is int) \
                and -FAST_LIMIT < value < FAST_LIMIT:  # False for NaN, inf and huge ints
            columns[name].append(float(value))
            continue
        checked = check_value(record, field, index, non_finite)
        if field["type"] == "image" and isinstance(checked.value, str) and not allow_paths:
            raise BundleError(f"record {index}: field {name!r} is a file path; send pixel "
                              f"values or image bytes, or read local files with "
                              f"allow_paths=True", where=where(index, name))
        columns[name].append(checked.value)
        missing += checked.missing
        if checked.note:
            notes.append(checked.note)
    if missing == len(fields):
        others = " and so is every other field" if len(fields) > 1 else ""
        raise BundleError(f"record {index}: field {fields[0]['name']!r} is null{others} — "
                          f"there is nothing to impute from; send "
                          f"{EXPECTED[fields[0]['type']]}", where=where(index, fields[0]["name"]))
    return notes


def records_to_columns(records: Sequence[Mapping[str, Any]],
                       fields: Sequence[Mapping[str, Any]], *, non_finite: str = "error",
                       allow_paths: bool = False) -> dict[str, list[Any]]:
    """`read_records(...).columns`: one list of values per field."""
    return read_records(records, fields, non_finite=non_finite,
                        allow_paths=allow_paths).columns


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
