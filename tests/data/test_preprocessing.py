"""Preprocessing: per-feature transforms, targets, decode, augmentation, JSON round trip."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from data_helpers import MIXED_FEATURES, mixed_table, write_png

from kiln.blueprint import FeatureSpec, TargetSpec
from kiln.data.images import augment_images
from kiln.data.preprocessing import Preprocessor
from kiln.errors import DataError


def fitted(features: list[dict[str, Any]], columns: dict[str, Any],
           targets: list[TargetSpec] | None = None) -> Preprocessor:
    specs = [FeatureSpec(**f) for f in features]
    return Preprocessor(specs, targets or []).fit(columns)


@pytest.mark.parametrize(("scale", "expected"), [
    ("standard", [-1.2247449, 0.0, 1.2247449]),
    ("minmax", [0.0, 0.5, 1.0]),
    ("none", [1.0, 2.0, 3.0]),
])
def test_numeric_scaling(scale: str, expected: list[float]) -> None:
    pre = fitted([{"name": "x", "type": "numeric", "scale": scale}], {"x": [1.0, 2.0, 3.0]})
    out = pre.transform({"x": [1.0, 2.0, 3.0]})["tabular"]
    assert out.dtype == np.float32 and out.shape == (3, 1)
    assert np.allclose(out[:, 0], expected)


@pytest.mark.parametrize(("impute", "fill"), [("mean", 4.0), ("median", 2.0),
                                              ("most_frequent", 1.0)])
def test_imputation(impute: str, fill: float) -> None:
    train = {"x": [1.0, 1.0, 2.0, 3.0, 13.0, None]}
    pre = fitted([{"name": "x", "type": "numeric", "scale": "none", "impute": impute}], train)
    assert pre.transform({"x": [None, float("nan")]})["tabular"][:, 0].tolist() == [fill, fill]
    mine = np.array([np.nan, 1.0])
    pre.transform({"x": mine})
    assert np.isnan(mine[0])  # the caller's array is not imputed in place


def test_missing_error_policy_names_column_and_row() -> None:
    pre = fitted([{"name": "x", "type": "numeric", "missing": "error"}], {"x": [1.0, 2.0]})
    with pytest.raises(DataError, match=r"column 'x', row 2: missing value"):
        pre.transform({"x": [1.0, None]})


def test_non_numeric_value_in_transform() -> None:
    pre = fitted([{"name": "x", "type": "numeric"}], {"x": [1.0, 2.0]})
    assert pre.transform({"x": ["3.5", 1]})["tabular"].shape == (2, 1)  # numeric text is fine
    with pytest.raises(DataError, match=r"column 'x', row 2: 'abc' is not a number"):
        pre.transform({"x": [1.0, "abc"]})


def test_categories_have_an_unknown_bucket() -> None:
    pre = fitted([{"name": "city", "type": "categorical"}],
                 {"city": ["paris", "lyon", "paris", None]})
    assert pre.vocab_sizes == {"city": 3}
    ids = pre.transform({"city": ["lyon", "paris", "rome", None]})["city"]
    assert ids.dtype == np.int64
    assert ids.tolist() == [1, 2, 0, 0]  # sorted vocabulary; unseen and missing → 0


def test_declared_categories_and_most_frequent() -> None:
    pre = fitted([{"name": "c", "type": "categorical", "categories": ["z", "a"],
                   "impute": "most_frequent"}], {"c": ["a", "a", "z"]})
    assert pre.transform({"c": ["z", "a", None, 3]})["c"].tolist() == [1, 2, 2, 0]


def test_integer_categories_match_json_and_float_columns() -> None:
    pre = fitted([{"name": "c", "type": "categorical"}], {"c": [1.0, 2.0, 3.0]})
    assert pre.transform({"c": [1, "2", 3.0]})["c"].tolist() == [1, 2, 3]


def test_binary_levels() -> None:
    pre = fitted([{"name": "m", "type": "binary"}], {"m": ["yes", "no", "yes"]})
    assert pre.transform({"m": ["no", "yes"]})["tabular"][:, 0].tolist() == [0.0, 1.0]
    with pytest.raises(DataError, match=r"column 'm', row 1: 'maybe' is not one of"):
        pre.transform({"m": ["maybe"]})


def test_text_tokens_vocab_cap_and_padding() -> None:
    pre = fitted([{"name": "t", "type": "text", "vocab_size": 4, "max_length": 3}],
                 {"t": ["Good good movie", "bad movie!", "good"]})
    # vocabulary: the 2 most frequent tokens ("good" ×3, "movie" ×2) → ids 2, 3
    assert pre.vocab_sizes == {"t": 4}
    ids = pre.transform({"t": ["GOOD, movie", "bad good movie again", None]})["t"]
    assert ids.tolist() == [[2, 3, 0], [1, 2, 3], [0, 0, 0]]


def test_image_arrays_normalised_per_channel() -> None:
    rng = np.random.default_rng(0)
    images = [rng.random((2, 4, 4)) * 10 for _ in range(8)]
    pre = fitted([{"name": "im", "type": "image", "shape": [2, 4, 4]}], {"im": images})
    out = pre.transform({"im": images})["im"]
    assert out.shape == (8, 2, 4, 4) and out.dtype == np.float32
    assert np.allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-5)
    assert np.allclose(out.std(axis=(0, 2, 3)), 1, atol=1e-4)


def test_image_paths_bytes_and_resize(tmp_path: Path) -> None:
    paths = [str(write_png(tmp_path / f"{i}.png", i, size=(8, 8))) for i in range(4)]
    pre = fitted([{"name": "im", "type": "image", "shape": [1, 4, 4]}], {"im": paths})
    from_paths = pre.transform({"im": paths})["im"]
    from_bytes = pre.transform({"im": [Path(p).read_bytes() for p in paths]})["im"]
    assert from_paths.shape == (4, 1, 4, 4)
    assert np.array_equal(from_paths, from_bytes)
    with pytest.raises(DataError, match="the upload: not an image"):
        pre.transform({"im": [b"garbage"]})


def test_targets_and_decode() -> None:
    targets = [TargetSpec(name="y", type="classification"),
               TargetSpec(name="tags", type="multilabel", columns=["a", "b"]),
               TargetSpec(name="price", type="regression")]
    columns = {"x": [1.0, 2.0, 3.0, 4.0], "y": ["10", "2", "2", "10"], "a": [0, 1, 1, 0],
               "b": [1, 1, 0, 0], "price": [10.0, 20.0, 30.0, 40.0]}
    pre = fitted([{"name": "x", "type": "numeric"}], columns, targets)
    assert pre.labels("y") == ["2", "10"]  # numbers sort as numbers
    encoded = pre.transform_targets(columns)
    assert encoded["y"].tolist() == [1, 0, 0, 1] and encoded["y"].dtype == np.int64
    assert encoded["tags"].shape == (4, 2) and encoded["tags"].dtype == np.float32
    assert abs(encoded["price"].mean()) < 1e-6 and encoded["price"].shape == (4, 1)
    decoded = pre.decode({"y": np.array([[0.0, 0.0], [10.0, -10.0]]),
                          "tags": np.zeros((2, 2)), "price": encoded["price"][:2]})
    assert np.allclose(decoded["y"], [[0.5, 0.5], [1.0, 0.0]])
    assert np.allclose(decoded["tags"], 0.5)
    assert np.allclose(decoded["price"][:, 0], [10.0, 20.0])
    with pytest.raises(DataError, match=r"label '7' was not seen in the training split"):
        pre.transform_targets({**columns, "y": ["7", "2", "2", "10"]})


def test_json_round_trip_gives_identical_arrays(tmp_path: Path) -> None:
    table = mixed_table()
    images = [np.random.default_rng(i).random((1, 5, 5)) for i in range(60)]
    columns = {**table, "im": images}
    features = [*MIXED_FEATURES, {"name": "im", "type": "image", "shape": [1, 5, 5]}]
    targets = [TargetSpec(name="label")]
    pre = fitted(features, columns, targets)
    path = pre.save(tmp_path / "run" / "preprocessing.json")
    json.loads(path.read_text(encoding="utf-8"))  # plain JSON
    loaded = Preprocessor.load(path)
    before, after = pre.transform(columns), loaded.transform(columns)
    assert list(before) == list(after) == ["tabular", "city", "notes", "im"]
    for name in before:
        assert before[name].dtype == after[name].dtype
        assert np.array_equal(before[name], after[name])
    assert np.array_equal(pre.transform_targets(columns)["label"],
                          loaded.transform_targets(columns)["label"])
    assert loaded.to_dict() == pre.to_dict()


def test_transform_records_matches_columns() -> None:
    table = mixed_table(rows=20)
    pre = fitted(MIXED_FEATURES, table)
    records = [{k: table[k][i] for k in table} for i in range(20)]
    by_records = pre.transform_records(records)
    by_columns = pre.transform(table)
    for name in by_columns:
        assert np.array_equal(by_records[name], by_columns[name])
    with pytest.raises(DataError, match=r"record 2: no field 'city'"):
        pre.transform_records([records[0], {"age": 3}])
    frame = pre.transform(pd.DataFrame(table))  # a DataFrame works as well
    for name in by_columns:
        assert np.array_equal(frame[name], by_columns[name])


def test_records_send_pixels_not_paths(tmp_path: Path) -> None:
    image = np.arange(16, dtype=np.float32).reshape(1, 4, 4)
    pre = fitted([{"name": "im", "type": "image", "shape": [1, 4, 4]}], {"im": [image, image + 1]})
    as_lists = pre.transform_records([{"im": image.tolist()}])["im"]
    assert np.array_equal(as_lists, pre.transform({"im": [image]})["im"])
    path = str(write_png(tmp_path / "x.png", 0, size=(4, 4)))
    with pytest.raises(DataError, match=r"record 1: field 'im' must hold pixel values"):
        pre.transform_records([{"im": path}])


def test_unfitted_and_damaged_files(tmp_path: Path) -> None:
    pre = Preprocessor([FeatureSpec(name="x", type="numeric")], [])
    with pytest.raises(DataError, match="not fitted"):
        pre.transform({"x": [1.0]})
    (tmp_path / "p.json").write_text("{oops", encoding="utf-8")
    with pytest.raises(DataError, match=r"p\.json: not valid JSON"):
        Preprocessor.load(tmp_path / "p.json")


def test_augment_images_is_seeded_and_keeps_shape() -> None:
    batch = np.random.default_rng(0).random((16, 1, 8, 8)).astype(np.float32)
    a = augment_images(batch, np.random.default_rng(1))
    b = augment_images(batch, np.random.default_rng(1))
    assert a.shape == batch.shape and a.dtype == batch.dtype
    assert np.array_equal(a, b)
    assert not np.array_equal(a, batch)
    still = augment_images(batch, np.random.default_rng(1), max_shift=0.0, flip=False)
    assert np.array_equal(still, batch)


def test_preprocessing_imports_without_torch_or_pandas() -> None:
    code = ("import sys, kiln.data.preprocessing; "
            "bad = [m for m in ('torch', 'pandas', 'sklearn') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_preprocessor_augments_only_features_that_ask() -> None:
    images = [np.random.default_rng(i).random((1, 6, 6)) for i in range(4)]
    pre = fitted([{"name": "a", "type": "image", "shape": [1, 6, 6], "augment": True},
                  {"name": "b", "type": "image", "shape": [1, 6, 6]}], {"a": images, "b": images})
    inputs = pre.transform({"a": images, "b": images})
    out = pre.augment(inputs, np.random.default_rng(0))
    assert out["a"].shape == inputs["a"].shape and not np.array_equal(out["a"], inputs["a"])
    assert out["b"] is inputs["b"]


def test_missing_values_in_every_kind_of_column() -> None:
    from kiln.data.transforms import missing_of

    cells = np.empty(5, dtype=object)
    cells[:] = [None, float("nan"), "x", np.zeros((1, 2, 2)), pd.NA]
    assert missing_of(cells).tolist() == [True, True, False, False, True]
    assert missing_of(np.array([1.0, np.nan])).tolist() == [False, True]
    assert missing_of(np.array([1, 2])).tolist() == [False, False]
    assert missing_of(np.array(["a", ""])).tolist() == [False, False]


def test_an_all_numeric_input_is_transformed_bit_for_bit_as_column_by_column() -> None:
    rng = np.random.default_rng(3)
    features = [{"name": f"x{i}", "type": "numeric", "scale": scale}
                for i, scale in enumerate(["standard", "minmax", "none"] * 4)]
    train = {f["name"]: rng.lognormal(0, 3, 200) * rng.choice([-1, 1], 200) for f in features}
    pre = fitted(features, train)
    new = {name: rng.standard_cauchy(57) * 1e3 for name in train}
    fast = pre.transform(new)["tabular"]
    by_column = np.stack([pre.columns[n].transform(np.asarray(v)) for n, v in new.items()],
                         axis=1)
    assert fast.flags.c_contiguous and fast.dtype == np.float32
    assert fast.tobytes() == by_column.tobytes()
    # a missing value takes the per-column rules (imputation here)
    new["x0"][5] = np.nan
    imputed = pre.transform(new)["tabular"]
    assert imputed[5, 0] == pre.columns["x0"].transform(np.array([np.nan]))[0]
    assert np.array_equal(np.delete(imputed, 5, axis=0), np.delete(fast, 5, axis=0))
