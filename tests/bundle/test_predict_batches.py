"""`Bundle.predict` runs records `batch_rows` at a time, with the same answers."""

from __future__ import annotations

import pytest
from bundle_helpers import Parts

from kiln.bundle import load
from kiln.errors import BundleError


def test_chunked_answers_equal_one_call(digits_bundle: Parts) -> None:
    bundle = load(digits_bundle.path)
    records = digits_bundle.records * 3  # 180 records
    whole = bundle.predict(records, batch_rows=len(records))
    for rows in (1, 7, 64):
        chunked = bundle.predict(records, batch_rows=rows)
        assert [a["label"]["label"] for a in chunked] == [a["label"]["label"] for a in whole]
        for a, b in zip(chunked, whole, strict=True):
            assert a["label"]["confidence"] == pytest.approx(b["label"]["confidence"], abs=1e-6)


def test_errors_name_the_record_in_the_whole_list(digits_bundle: Parts) -> None:
    records = [*digits_bundle.records[:10], {"image": None}]
    with pytest.raises(BundleError) as caught:
        load(digits_bundle.path).predict(records, batch_rows=4)
    assert caught.value.where == "records[10].image"
    with pytest.raises(BundleError, match="batch_rows: 0"):
        load(digits_bundle.path).predict(records, batch_rows=0)


def test_not_a_list_is_refused_before_chunking(digits_bundle: Parts) -> None:
    bundle = load(digits_bundle.path)
    with pytest.raises(BundleError, match="records: expected a list of objects"):
        bundle.predict({"image": digits_bundle.records[0]["image"]})  # type: ignore[arg-type]
    with pytest.raises(BundleError, match="records: empty"):
        bundle.predict([])
