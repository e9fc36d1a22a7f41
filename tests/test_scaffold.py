"""`kiln init` as a function: every inferred blueprint loads, builds and passes design."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import kiln
from kiln.design import design
from kiln.errors import DataError, KilnError

ROWS = 120


def mixed_table(folder: Path) -> pd.DataFrame:
    """Numeric, binary, categorical, text and image-path columns and a class label."""
    from PIL import Image

    rng = np.random.default_rng(0)
    for i in range(3):
        Image.new("RGB", (12, 12), (i * 40, 0, 0)).save(folder / f"img{i}.png")
    return pd.DataFrame({
        "id": np.arange(ROWS),
        "age": rng.integers(18, 90, ROWS),
        "income": rng.normal(50, 10, ROWS),
        "member": rng.choice(["yes", "no"], ROWS),
        "plan": rng.choice(["basic", "plus", "pro"], ROWS),
        "comment": [f"customer {i} wrote a longer comment here" for i in range(ROWS)],
        "photo": [f"img{i % 3}.png" for i in range(ROWS)],
        "label": rng.choice(["churn", "stay"], ROWS),
    })


def test_mixed_csv_blueprint_loads_and_passes_design(tmp_path: Path) -> None:
    mixed_table(tmp_path).to_csv(tmp_path / "table.csv", index=False)
    out = tmp_path / "bp" / "blueprint.yaml"
    text = kiln.init_blueprint(tmp_path / "table.csv", "label", out)
    assert out.read_text() == text
    bp = kiln.load_blueprint(out)
    types = {f.name: f.type for f in bp.data.features or []}
    assert types == {"age": "numeric", "income": "numeric", "member": "binary",
                     "plan": "categorical", "comment": "text", "photo": "image"}
    assert bp.data.ignore == ["id"]
    assert bp.data.source == "../table.csv"  # relative to the blueprint's folder
    assert bp.task.targets[0].type == "classification"
    assert bp.task.targets[0].num_classes == 2
    assert set(bp.architecture.encoders) == {"plan", "comment", "photo"}
    assert "# strings with 3 distinct values" in text  # each feature carries its reason
    report = design(bp, measure=False)  # latency on a shared CI machine is for design tests
    assert report.ok, report.budgets
    assert bp.budgets.max_params is not None and report.params <= bp.budgets.max_params


def test_parquet_regression_gets_regression_defaults(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"x1": rng.normal(size=ROWS), "x2": rng.normal(size=ROWS),
                       "price": rng.normal(100, 20, ROWS)})
    df.to_parquet(tmp_path / "houses.parquet")
    text = kiln.init_blueprint(tmp_path / "houses.parquet", "price",
                               tmp_path / "blueprint.yaml")
    raw = yaml.safe_load(text)
    assert raw["task"] == {"type": "regression", "target": "price", "metrics": ["r2", "mae"]}
    assert raw["data"]["split"]["method"] == "holdout"
    assert raw["architecture"]["encoders"] == {}
    bp = kiln.load_blueprint(tmp_path / "blueprint.yaml")
    assert design(bp, measure=False).ok


def test_bundled_dataset_and_no_output(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    text = kiln.init_blueprint("sklearn:digits", "label")
    assert not list(tmp_path.iterdir())  # nothing written without an output path
    bp = kiln.load_blueprint(yaml.safe_load(text))
    assert bp.data.source == "sklearn:digits"
    assert bp.data.features is not None and bp.data.features[0].shape == [1, 8, 8]
    assert design(bp, measure=False).ok


def test_multi_target(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    df = pd.DataFrame({"x": rng.normal(size=ROWS), "kind": rng.choice(["a", "b", "c"], ROWS),
                       "amount": rng.normal(size=ROWS)})
    df.to_csv(tmp_path / "t.csv", index=False)
    bp = kiln.load_blueprint(yaml.safe_load(
        kiln.init_blueprint(tmp_path / "t.csv", ["kind", "amount"])))
    assert [(t.name, t.type) for t in bp.task.targets] == [("kind", "classification"),
                                                           ("amount", "regression")]
    assert design(bp, measure=False).ok


def test_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    mixed_table(tmp_path).to_csv(tmp_path / "table.csv", index=False)
    out = tmp_path / "blueprint.yaml"
    out.write_text("keep me")
    with pytest.raises(KilnError, match=r"already exists — .*--force"):
        kiln.init_blueprint(tmp_path / "table.csv", "label", out)
    assert out.read_text() == "keep me"
    kiln.init_blueprint(tmp_path / "table.csv", "label", out, force=True)
    assert out.read_text().startswith("# Starter blueprint")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_errors_name_the_problem(tmp_path: Path) -> None:
    mixed_table(tmp_path).to_csv(tmp_path / "table.csv", index=False)
    with pytest.raises(DataError, match="no such file"):
        kiln.init_blueprint(tmp_path / "missing.csv", "label")
    with pytest.raises(DataError, match=r"target 'lable' .*did you mean \"label\""):
        kiln.init_blueprint(tmp_path / "table.csv", "lable")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty"):
        kiln.init_blueprint(tmp_path / "empty.csv", "label")
    (tmp_path / "header.csv").write_text("a,label\n")
    with pytest.raises(DataError, match="no data rows"):
        kiln.init_blueprint(tmp_path / "header.csv", "label")


def test_npz_with_image_arrays() -> None:
    text = kiln.init_blueprint(Path(__file__).parents[1] / "examples" / "multimodal.npz",
                               "label")
    bp = kiln.load_blueprint(yaml.safe_load(text))
    assert [(f.name, f.type, f.shape) for f in bp.data.features or []] == [
        ("image", "image", [1, 8, 8]), ("dose", "numeric", None),
        ("weight", "numeric", None), ("age", "numeric", None)]
    assert bp.task.targets[0].num_classes == 4
    assert "image" in bp.architecture.encoders
