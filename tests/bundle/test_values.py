"""One rule for every field value a bundle receives (docs/bundle.md): nulls, non-finite
numbers, numbers sent as strings — and no answer ever carries NaN."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bundle_helpers import Parts

from kiln.bundle import load
from kiln.errors import BundleError


def finite(answers: list[dict[str, Any]]) -> bool:
    text = json.dumps(answers)  # NaN / Infinity would appear as such
    return "NaN" not in text and "Infinity" not in text


def test_a_null_image_with_nothing_else_is_refused(digits_bundle: Parts) -> None:
    bundle = load(digits_bundle.path)
    with pytest.raises(BundleError, match=r"record 0: field 'image' is null") as caught:
        bundle.predict([{"image": None}])
    assert caught.value.where == "records[0].image"
    with pytest.raises(BundleError) as caught:
        bundle.predict([digits_bundle.records[0], {"image": math.nan}])
    assert caught.value.where == "records[1].image"


@pytest.mark.parametrize("value", [math.inf, -math.inf, "inf", "-Infinity"])
def test_an_infinite_number_is_refused_naming_record_and_field(mixed_bundle: Parts,
                                                               value: Any) -> None:
    bundle = load(mixed_bundle.path)
    records = [mixed_bundle.records[0], {**mixed_bundle.records[1], "a": value}]
    with pytest.raises(BundleError, match=r"record 1: field 'a' is -?inf") as caught:
        bundle.predict(records)
    assert caught.value.where == "records[1].a"


def test_a_missing_number_is_imputed_and_flagged(mixed_bundle: Parts) -> None:
    bundle = load(mixed_bundle.path)
    for missing in (None, math.nan, "nan"):
        record = {**mixed_bundle.records[0], "a": missing}
        answers = bundle.predict([record])
        assert finite(answers)
        assert bundle.flags([record]) == [["a: missing, imputed"]]


def test_numbers_as_strings_are_read_the_same_way_everywhere(mixed_bundle: Parts,
                                                             digits_bundle: Parts) -> None:
    mixed = load(mixed_bundle.path)
    record = mixed_bundle.records[0]
    as_text = {**record, "a": f" {record['a']!r} ", "b": str(record["b"])}
    assert mixed.predict([as_text]) == mixed.predict([record])
    with pytest.raises(BundleError, match=r"field 'a' should be a number, got str 'x'"):
        mixed.predict([{**record, "a": "x"}])
    digits = load(digits_bundle.path)
    pixels = np.asarray(digits_bundle.records[0]["image"])
    assert (digits.predict([{"image": pixels.astype(str).tolist()}])
            == digits.predict([{"image": pixels.tolist()}]))
    with pytest.raises(BundleError, match=r"field 'image' should be a \(nested\) list"):
        digits.predict([{"image": ["x"] * 64}])


def test_a_non_finite_pixel_is_refused(digits_bundle: Parts) -> None:
    pixels = np.asarray(digits_bundle.records[0]["image"], dtype=float)
    pixels.flat[5] = np.inf
    with pytest.raises(BundleError, match=r"record 0: field 'image' holds NaN or infinite"):
        load(digits_bundle.path).predict([{"image": pixels.tolist()}])


def test_a_value_that_overflows_once_scaled_is_refused(mixed_bundle: Parts) -> None:
    record = {**mixed_bundle.records[0], "b": 1e308}
    with pytest.raises(BundleError, match=r"record 0: field 'b' is too large") as caught:
        load(mixed_bundle.path).predict([record])
    assert caught.value.where == "records[0].b"


@pytest.mark.parametrize(("policy", "expected_note"), [
    ("impute", "a: missing, imputed"), ("clip", "a: inf clipped to")])
def test_the_runs_non_finite_policy_travels_with_the_bundle(
        tmp_path: Path, mixed_bundle: Parts, policy: str, expected_note: str) -> None:
    from kiln.bundle.manifest import manifest_bytes, sha256

    copy = tmp_path / "bundle"
    shutil.copytree(mixed_bundle.path, copy)
    pre = json.loads((copy / "preprocessing.json").read_text())
    for entry in pre["features"]:
        if entry["spec"]["type"] == "numeric":
            entry["state"]["non_finite"] = policy
    data = json.dumps(pre).encode()
    (copy / "preprocessing.json").write_bytes(data)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["preprocessing.json"] = {"sha256": sha256(data), "bytes": len(data)}
    (copy / "manifest.json").write_bytes(manifest_bytes(manifest))
    bundle = load(copy)
    record = {**mixed_bundle.records[0], "a": math.inf}
    assert finite(bundle.predict([record]))
    assert any(note.startswith(expected_note) for note in bundle.flags([record])[0])


@pytest.mark.parametrize("value", [3, 3.0, np.float32(3.0), np.int64(3), "3", " 3.0 "])
def test_every_spelling_of_a_number_gives_the_same_answer(mixed_bundle: Parts,
                                                          value: Any) -> None:
    bundle = load(mixed_bundle.path)
    record = {**mixed_bundle.records[0], "a": 3.0}
    assert bundle.predict([{**record, "a": value}]) == bundle.predict([record])


@pytest.mark.parametrize("value", [10**400, -(10**400)])
def test_an_int_beyond_float64_is_refused(mixed_bundle: Parts, value: int) -> None:
    bundle = load(mixed_bundle.path)
    with pytest.raises(BundleError, match=r"record 0: field 'a' is too large") as caught:
        bundle.predict([{**mixed_bundle.records[0], "a": value}])
    assert caught.value.where == "records[0].a"
