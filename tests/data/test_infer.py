"""Column inference: each rule on a small real table, and the errors a person can cause."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kiln.data.infer import infer_features, infer_report, infer_task
from kiln.errors import DataError

ROWS = 200


@pytest.fixture
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "customer_id": rng.permutation(10_000)[:ROWS],
        "row": np.arange(ROWS),
        "age": rng.integers(18, 90, ROWS),
        "income": rng.normal(50_000, 10_000, ROWS),
        "member": rng.choice([True, False], ROWS),
        "smoker": rng.choice(["yes", "no"], ROWS),
        "color": rng.choice(["red", "green", "blue"], ROWS),
        "level": rng.integers(0, 4, ROWS),
        "review": [f"review number {i} says the product was fine" for i in range(ROWS)],
        "code": [f"C{i:05d}" for i in range(ROWS)],
        "constant": 7,
        "empty": [None] * ROWS,
        "label": rng.choice(["churn", "stay"], ROWS),
        "spend": rng.normal(size=ROWS),
    })


def types(report: list) -> dict[str, str | None]:
    return {c.column: c.type or c.role for c in report}


def test_every_rule_on_one_table(table: pd.DataFrame) -> None:
    got = types(infer_report(table, ["label"]))
    assert got == {
        "customer_id": "skipped", "row": "skipped", "age": "numeric", "income": "numeric",
        "member": "binary", "smoker": "binary", "color": "categorical", "level": "categorical",
        "review": "text", "code": "skipped", "constant": "skipped", "empty": "skipped",
        "label": "target", "spend": "numeric",
    }


def test_reasons_explain_each_decision(table: pd.DataFrame) -> None:
    reasons = {c.column: c.reason for c in infer_report(table, ["label"])}
    assert "id-like" in reasons["customer_id"] and "id-like" in reasons["code"]
    assert reasons["constant"] == "constant (only 7)"
    assert reasons["empty"] == "every value is missing"
    assert reasons["label"] == "target → classification"
    assert reasons["level"] == "integers with only 4 distinct values"


def test_features_carry_categories_and_skip_the_rest(table: pd.DataFrame) -> None:
    features = {f.name: f for f in infer_features(table, ["label"], ignore=["spend"])}
    assert "spend" not in features and "label" not in features and "code" not in features
    assert features["color"].categories == ["blue", "green", "red"]
    assert features["level"].categories == [0, 1, 2, 3]


def test_category_dtype_and_missing_values() -> None:
    df = pd.DataFrame({"size": pd.Categorical(["s", "m", "l", "m"] * 10),
                       "x": [1.5, None, 2.5, 3.5] * 10, "y": [0, 1] * 20})
    report = {c.column: c for c in infer_report(df, ["y"])}
    assert report["size"].type == "categorical"
    assert report["x"].type == "numeric" and "10 missing" in report["x"].reason


def test_image_paths_resolve_against_base_dir(tmp_path: Path) -> None:
    from PIL import Image

    for i in range(3):
        Image.new("L", (16, 12)).save(tmp_path / f"img{i}.png")
    Image.new("RGB", (100, 80)).save(tmp_path / "big.jpg")
    df = pd.DataFrame({"scan": [f"img{i}.png" for i in range(3)] + ["big.jpg"] * 3,
                       "photo": ["big.jpg"] * 5 + ["nothere.JPG"], "y": [0, 1] * 3})
    report = {c.column: c for c in infer_report(df, ["y"], base_dir=tmp_path)}
    assert report["scan"].feature is not None and report["scan"].feature.shape == [1, 12, 16]
    assert report["photo"].role == "skipped" and "do not exist" in report["photo"].reason
    elsewhere = {c.column: c for c in infer_report(df, ["y"], base_dir=tmp_path / "x")}
    assert elsewhere["scan"].role == "skipped"


def test_large_images_are_capped(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (100, 80)).save(tmp_path / "big.jpg")
    df = pd.DataFrame({"photo": ["big.jpg"] * 4, "y": [0, 1, 0, 1]})
    (feature,) = infer_features(df, ["y"], base_dir=tmp_path)
    assert feature.type == "image" and feature.shape == [3, 64, 64]


@pytest.mark.parametrize(("values", "task"), [
    (np.linspace(0, 1, 50), "regression"),
    (np.arange(100) % 30, "regression"),
    (np.array([0.0, 1.0, 2.0] * 20), "classification"),
    (np.array([1, 2, 3] * 20), "classification"),
    (np.array(["a", "b"] * 20), "classification"),
    (np.array([True, False] * 20), "classification"),
])
def test_infer_task(values: np.ndarray, task: str) -> None:
    assert infer_task(pd.DataFrame({"t": values}), "t") == task


def test_missing_target_suggests_a_column(table: pd.DataFrame) -> None:
    with pytest.raises(DataError, match=r"target 'lable' .*did you mean \"label\""):
        infer_features(table, ["lable"])
    with pytest.raises(DataError, match=r"target 'lable'"):
        infer_task(table, "lable")
    with pytest.raises(DataError, match=r"ignored column 'nope'"):
        infer_features(table, ["label"], ignore=["nope"])


def test_no_usable_feature_is_an_error() -> None:
    df = pd.DataFrame({"id": range(20), "y": [0, 1] * 10})
    with pytest.raises(DataError, match="no usable feature columns"):
        infer_features(df, ["y"])


def test_array_cells_are_images() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"chw": pd.Series(list(rng.random((6, 1, 8, 8))), dtype=object),
                       "hwc": pd.Series(list(rng.random((6, 5, 4, 3))), dtype=object),
                       "hw": pd.Series(list(rng.random((6, 7, 9))), dtype=object),
                       "vec": pd.Series(list(rng.random((6, 4))[:, :, None, None, None]),
                                        dtype=object),
                       "y": [0, 1] * 3})
    report = {c.column: c for c in infer_report(df, ["y"])}
    shapes = {k: c.feature.shape for k, c in report.items() if c.feature is not None}
    assert shapes == {"chw": [1, 8, 8], "hwc": [3, 5, 4], "hw": [1, 7, 9]}
    assert report["vec"].role == "skipped"


def test_text_is_sized_from_the_data(table: pd.DataFrame) -> None:
    features = {f.name: f for f in infer_features(table, ["label"])}
    review = features["review"]  # "review number {i} says the product was fine"
    assert review.vocab_size == 7 + ROWS + 2  # 7 words + 200 numbers + padding and unknown
    assert review.max_length == 8


def test_small_integer_scales_are_numbers_and_codes_stay_categories() -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"answer": rng.integers(1, 6, 400),  # a 1–5 scale
                       "pixel": rng.choice([0, 1, 2, 4, 5, 7, 9, 12, 16], 400),  # 9 of 0–16
                       "region": rng.integers(1, 5, 400),  # 4 codes
                       "sparse": rng.choice([0, 10, 20, 50, 100, 200], 400),  # 6 of 0–200
                       "y": rng.choice(["a", "b"], 400)})
    report = {c.column: c for c in infer_report(df, ["y"])}
    assert report["answer"].type == "numeric" and report["pixel"].type == "numeric"
    assert report["answer"].reason == "integers 1–5 (5 levels): an ordered scale, read as a number"
    assert report["region"].type == "categorical" and report["sparse"].type == "categorical"
