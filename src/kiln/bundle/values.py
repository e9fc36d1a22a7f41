"""The one rule for a value a client sends in a record field, for every field kind.

    absent field        refused: the record must name every field
    null / NaN          imputed (and flagged) when the feature says `missing: impute` and
                        the record has a value in another field; otherwise refused
    a number            numeric fields and image pixels take numbers, or strings that read
                        as numbers ("14.2"); booleans and other strings are refused
    ±inf                the bundle's `data.non_finite` policy: error (refused), impute
                        (treated as missing, above), clip (to the training min / max,
                        flagged); inside an image it is always refused
    categories, text    as sent (a number is a category's text: 3 and "3" are the same)

A refusal is a `BundleError` whose message names the record (0-based, as in the list) and
the field, and whose `where` is `records[i].field` (the service's `field`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from kiln.errors import BundleError

EXPECTED = {"numeric": "a number", "binary": "a number, a boolean or a string",
            "categorical": "a string or a number", "text": "a string",
            "image": "an array of pixel values, a file path or encoded bytes"}


@dataclass
class Value:
    """A checked value: `value` is what preprocessing gets (None: impute it), `note` what
    was done to it (flagged in `Bundle.flags`), `missing` whether it carries nothing."""

    value: Any
    note: str | None = None
    missing: bool = False


def where(index: int, name: str) -> str:
    return f"records[{index}].{name}"


def refuse(index: int, name: str, problem: str) -> BundleError:
    return BundleError(f"record {index}: field {name!r} {problem}", where=where(index, name))


def check_value(record: Mapping[str, Any], field: Mapping[str, Any], index: int,
                non_finite: str) -> Value:
    """Apply the rule to one field of one record (see the module docstring)."""
    name, kind = field["name"], field["type"]
    if name not in record:
        raise refuse(index, name, f"is missing — it should be {EXPECTED[kind]}")
    value = record[name]
    if kind == "numeric":
        value = _number(value, index, name)
    if _is_infinite(value):
        if non_finite == "clip" and kind == "numeric":
            bound = field.get("max") if value > 0 else field.get("min")
            if bound is not None:
                return Value(float(bound), f"{name}: {value} clipped to {bound:.4g}")
        if non_finite != "impute":
            raise refuse(index, name, f"is {value} — send a finite number (this model's "
                                      f"data.non_finite is {non_finite})")
        value = None
    if value is None or _is_nan(value):
        if field.get("missing") == "impute":
            return Value(None, f"{name}: missing, imputed", missing=True)
        raise refuse(index, name, f"is null and this model cannot fill it in — send "
                                  f"{EXPECTED[kind]}")
    if not _type_ok(value, kind):
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
        raise refuse(index, name, f"should be {EXPECTED[kind]}, got {type(value).__name__} "
                                  f"{shown}")
    if kind == "image" and not isinstance(value, (str, bytes, bytearray)):
        return Value(_pixels(value, field, index))
    return Value(value)


def _number(value: Any, index: int, name: str) -> Any:
    """A numeric field's value as a float; a string that reads as a number is one."""
    if value is None or isinstance(value, (bool, np.bool_)):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        try:
            return float(value)
        except OverflowError:  # an int beyond float64
            raise refuse(index, name, "is too large in magnitude for a number — send a "
                                      "value in the range the model was trained on") from None
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            shown = repr(value) if len(value) <= 40 else repr(value[:37] + "...")
            raise refuse(index, name, f"should be a number, got str {shown}") from None
    return value  # a list, a dict: the type check names it


def _is_infinite(value: Any) -> bool:
    return isinstance(value, (float, np.floating)) and math.isinf(value)


def _is_nan(value: Any) -> bool:
    return isinstance(value, (float, np.floating)) and math.isnan(value)


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
    try:  # numbers, or strings that read as numbers: the same rule as a numeric field
        with np.errstate(over="ignore"):  # beyond float32 becomes inf, refused below
            array = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        raise refuse(index, name, "should be a (nested) list of numbers — found a ragged "
                                  "or non-numeric array") from None
    raw_shape = field.get("raw_shape")
    if raw_shape and array.size != math.prod(raw_shape):
        raise refuse(index, name, f"has {array.size} pixel values (shape "
                                  f"{list(array.shape)}), the model was trained on images of "
                                  f"shape {raw_shape}")
    if raw_shape and list(array.shape) != list(raw_shape):
        array = array.reshape(raw_shape)  # e.g. a flat list of 64 values for an 8×8 image
    if not np.all(np.isfinite(array)):
        raise refuse(index, name, "holds NaN or infinite pixel values — a pixel cannot be "
                                  "imputed; send finite numbers")
    return array
