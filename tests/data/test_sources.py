"""Sources: bundled sklearn datasets, CSV, Parquet, .npz, image folders — and bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from data_helpers import make_blueprint, write_png

from kiln.data import prepare_data
from kiln.data.sources import SKLEARN_DATASETS, load_source
from kiln.errors import DataError


@pytest.mark.parametrize(("name", "target", "columns"), [
    ("iris", "label", 4), ("wine", "label", 13), ("breast_cancer", "label", 30),
    ("diabetes", "progression", 10),
])
def test_sklearn_tables(name: str, target: str, columns: int) -> None:
    table = load_source(f"sklearn:{name}")
    frame = table.frame
    assert list(frame.columns)[-1] == target
    assert frame.shape[1] == columns + 1
    if target == "label":
        assert all(isinstance(v, str) for v in frame[target])
    else:
        assert frame[target].dtype == np.float64


def test_sklearn_digits_is_an_image_column() -> None:
    frame = load_source("sklearn:digits").frame
    assert list(frame.columns) == ["image", "label"]
    first = frame["image"].iloc[0]
    assert first.shape == (1, 8, 8) and first.dtype == np.float32
    assert first.min() >= 0 and first.max() <= 16
    assert sorted(set(frame["label"])) == [str(d) for d in range(10)]


def test_unknown_sklearn_name_lists_the_available_ones() -> None:
    with pytest.raises(DataError, match="no such bundled dataset") as info:
        load_source("sklearn:digitz")
    message = str(info.value)
    assert 'did you mean "digits"' in message
    for name in SKLEARN_DATASETS:
        assert f"sklearn:{name}" in message


def test_csv_resolves_against_the_blueprint_folder(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    pd.DataFrame({"x": [1.0, 2.0], "label": ["a", "b"]}).to_csv(tmp_path / "data/t.csv",
                                                                index=False)
    bp = make_blueprint(tmp_path, "data/t.csv")
    table = load_source(bp.data.source, blueprint=bp)
    assert table.frame["x"].tolist() == [1.0, 2.0]
    assert Path(table.origin) == tmp_path / "data/t.csv"


def test_csv_reads_declared_categories_as_text(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("zip,label\n007,a\n010,b\n", encoding="utf-8")
    features = make_blueprint(tmp_path, "t.csv",
                              features=[{"name": "zip", "type": "categorical"}]).data.features
    frame = load_source(tmp_path / "t.csv", features=features).frame
    assert frame["zip"].tolist() == ["007", "010"]


def test_csv_image_paths_resolve_against_the_table_folder(tmp_path: Path) -> None:
    folder = tmp_path / "tables"
    for i in range(12):
        write_png(folder / "img" / f"{i}.png", i)
    pd.DataFrame({"picture": [f"img/{i}.png" for i in range(12)],
                  "label": ["a", "b"] * 6}).to_csv(folder / "t.csv", index=False)
    bp = make_blueprint(tmp_path, "tables/t.csv",
                        features=[{"name": "picture", "type": "image", "shape": [1, 4, 4]}],
                        split={"method": "holdout", "test": 0.25, "val": 0.25})
    data = prepare_data(bp)
    assert data.train.inputs["picture"].shape == (6, 1, 4, 4)
    assert Path(data.table["picture"].iloc[0]).is_absolute()


def test_parquet(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": np.random.default_rng(0).random(20), "label": ["a", "b"] * 10})
    frame.to_parquet(tmp_path / "t.parquet")
    data = prepare_data(make_blueprint(tmp_path, "t.parquet"))
    assert data.signature.inputs[0].name == "tabular"
    assert len(data.train) + len(data.val) + len(data.test) == 20


def test_npz_array_columns(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "t.npz", image=rng.random((30, 1, 8, 8)).astype(np.float32),
             size=rng.random(30), label=np.array(["cat", "dog", "owl"] * 10))
    table = load_source(tmp_path / "t.npz")
    assert table.frame["image"].iloc[0].shape == (1, 8, 8)
    assert table.frame["label"].iloc[0] == "cat"
    bp = make_blueprint(tmp_path, "t.npz", features=[
        {"name": "image", "type": "image"}, {"name": "size", "type": "numeric"}])
    data = prepare_data(bp)
    assert data.train.inputs["image"].shape[1:] == (1, 8, 8)
    assert [i.name for i in data.signature.inputs] == ["image", "tabular"]


def test_npz_without_the_target(tmp_path: Path) -> None:
    np.savez(tmp_path / "t.npz", x=np.arange(5.0))
    with pytest.raises(DataError, match=r"no target column 'label'"):
        prepare_data(make_blueprint(tmp_path, "t.npz"))


def test_image_folder(tmp_path: Path) -> None:
    for label in ("cat", "dog"):
        for i in range(6):
            suffix = ".jpg" if label == "dog" else ".png"  # Pillow picks the format by suffix
            write_png(tmp_path / "pics" / label / f"{i}{suffix}", i + 10 * (label == "dog"),
                      size=(5, 7), mode="RGB")
    (tmp_path / "pics" / "cat" / "notes.txt").write_text("not an image", encoding="utf-8")
    table = load_source(tmp_path / "pics")
    assert list(table.frame.columns) == ["image", "label"]
    assert len(table.frame) == 12
    bp = make_blueprint(tmp_path, "pics", split={"method": "stratified", "test": 0.34,
                                                 "val": 0.17})
    data = prepare_data(bp)
    assert data.signature.inputs[0].shape == (3, 7, 5)  # natural (C, H, W) of the files
    assert data.signature.outputs[0].labels == ("cat", "dog")
    train = data.train.inputs["image"]
    assert np.allclose(train.mean(axis=(0, 2, 3)), 0, atol=1e-5)  # normalised on train


# --------------------------------------------------------------------------- bad input


def test_missing_target_suggests_the_closest_column(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("x,labl\n1,a\n2,b\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"t\.csv: no target column 'label' — did you mean "
                                        r"\"labl\"\?"):
        prepare_data(make_blueprint(tmp_path, "t.csv"))


def test_declared_feature_absent(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("x,label\n1,a\n2,b\n", encoding="utf-8")
    bp = make_blueprint(tmp_path, "t.csv", features=[{"name": "y", "type": "numeric"}])
    with pytest.raises(DataError, match=r"t\.csv: no feature column 'y'.*columns: x, label"):
        prepare_data(bp)


def test_split_and_slice_columns_must_exist(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("x,label,user\n1,a,u\n2,b,v\n", encoding="utf-8")
    bp = make_blueprint(tmp_path, "t.csv", split={"method": "group", "column": "usr"})
    with pytest.raises(DataError, match=r"no split column 'usr' \(data.split.column\) — did "
                                        r"you mean \"user\""):
        prepare_data(bp)
    bp = make_blueprint(tmp_path, "t.csv", slices=["xx"])
    with pytest.raises(DataError, match=r"no slice column 'xx' \(data.slices\)"):
        prepare_data(bp)


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("", encoding="utf-8")
    with pytest.raises(DataError, match=r"t\.csv: the file is empty"):
        prepare_data(make_blueprint(tmp_path, "t.csv"))
    (tmp_path / "h.csv").write_text("x,label\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"h\.csv: no data rows"):
        prepare_data(make_blueprint(tmp_path, "h.csv"))


def test_non_numeric_value_names_row_and_value(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("x,label\n1,a\n2,b\nabc,a\n", encoding="utf-8")
    bp = make_blueprint(tmp_path, "t.csv", features=[{"name": "x", "type": "numeric"}])
    with pytest.raises(DataError, match=r"t\.csv: column 'x', row 3 \(line 4\): 'abc' is not a "
                                        r"number"):
        prepare_data(bp)


def test_not_an_image_names_the_file(tmp_path: Path) -> None:
    for i in range(4):
        write_png(tmp_path / "pics" / "a" / f"{i}.png", i)
        write_png(tmp_path / "pics" / "b" / f"{i}.png", i + 4)
    bad = tmp_path / "pics" / "b" / "9.png"
    bad.write_bytes(b"this is not a png")
    bp = make_blueprint(tmp_path, "pics", features=[
        {"name": "image", "type": "image", "shape": [1, 6, 6]}],
        split={"method": "holdout", "test": 0.3, "val": 0.0})
    with pytest.raises(DataError, match=rf"{bad}.*not an image"):
        prepare_data(bp)


def test_unreadable_file_type(tmp_path: Path) -> None:
    (tmp_path / "t.xlsx").write_bytes(b"PK")
    with pytest.raises(DataError, match=r"t\.xlsx: cannot read \.xlsx files — kiln reads "
                                        r"\.csv"):
        prepare_data(make_blueprint(tmp_path, "t.xlsx"))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"nope\.csv: no such file or folder — check "
                                        r"data\.source"):
        prepare_data(make_blueprint(tmp_path, "nope.csv"))


def test_npz_with_pickled_objects_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "t.npz", x=np.array([{"a": 1}, {"b": 2}], dtype=object))
    with pytest.raises(DataError, match="need pickle"):
        load_source(tmp_path / "t.npz")


def test_damaged_files_name_the_file(tmp_path: Path) -> None:
    (tmp_path / "t.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DataError, match=r"t\.parquet: not a readable Parquet file"):
        load_source(tmp_path / "t.parquet")
    (tmp_path / "t.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"t\.npz: not a readable \.npz archive"):
        load_source(tmp_path / "t.npz")
    (tmp_path / "t.csv").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(DataError, match=r"t\.csv: not a readable CSV file"):
        load_source(tmp_path / "t.csv")
