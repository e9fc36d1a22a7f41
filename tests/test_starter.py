"""The starter `kiln init` picks: training settings by rows, architecture by rows and column
types, each with its reason; every starter builds and exports."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from kiln.blueprint.schema import FeatureSpec
from kiln.scaffold import scaffold
from kiln.starter import choose_starter, training_settings

NUMERIC = [FeatureSpec(name=f"x{i}", type="numeric") for i in range(4)]
CATEGORIES = [FeatureSpec(name="city", type="categorical", categories=["a", "b"])]


@pytest.mark.parametrize(("rows", "size", "epochs", "min_epochs"),
                         [(20, "tiny", 200, 20), (178, "small", 200, 20),
                          (6_366, "medium", 100, 10), (50_000, "large", 50, 5)])
def test_training_settings_scale_with_rows(rows: int, size: str, epochs: int,
                                           min_epochs: int) -> None:
    name, settings = training_settings(rows)
    assert (name, settings["epochs"], settings["min_epochs"]) == (size, epochs, min_epochs)


def test_small_tables_get_strong_weight_decay_and_tables_one_thread() -> None:
    assert training_settings(178)[1]["weight_decay"] == 3.0
    assert "weight_decay" not in training_settings(5_000)[1]
    assert choose_starter(NUMERIC + CATEGORIES, 178).training["threads"] == 1
    image = FeatureSpec(name="photo", type="image", shape=[1, 8, 8])
    assert "threads" not in choose_starter([*NUMERIC, image], 178).training


@pytest.mark.parametrize(("rows", "bagging"), [(20, 5), (178, None), (999, None),
                                               (1_000, 5), (19_999, 5), (20_000, None)])
def test_tiny_and_medium_tables_are_bagged(rows: int, bagging: int | None) -> None:
    starter = choose_starter(NUMERIC, rows)
    assert starter.training.get("bagging") == bagging
    assert ("5 of them bagged, each stopped on its own fold" in starter.reason) == bool(bagging)


def test_architecture_by_size_and_column_types() -> None:
    small = choose_starter(NUMERIC, 178)
    assert [next(iter(b)) for b, _ in small.trunk] == ["residual"]
    assert "small table" in small.reason and not small.numeric_encoder
    tiny = choose_starter(NUMERIC, 20)
    assert tiny.trunk == [] and "linear model" in tiny.reason
    numeric = choose_starter(NUMERIC + CATEGORIES, 5_000)
    assert not numeric.numeric_encoder  # plain standardised numbers won on every table
    assert "residual_mlp" in [next(iter(b)) for b, _ in numeric.trunk if isinstance(b, dict)]
    assert "numbers and categories" in numeric.reason
    categories = choose_starter(CATEGORIES, 5_000)
    assert not categories.numeric_encoder and "of categories" in categories.reason


@pytest.mark.parametrize("rows", [40, 150, 1_500])
def test_scaffold_writes_the_starter_and_why(tmp_path: Path, rows: int) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(rows, 3)), columns=["a", "b", "c"])
    frame["label"] = np.where(frame["a"] > 0, "up", "down")
    frame.to_csv(tmp_path / "t.csv", index=False)
    result = scaffold(tmp_path / "t.csv", "label", tmp_path / "bp.yaml")
    raw = yaml.safe_load(result.text)
    assert raw["training"]["select"] == "loss" and raw["training"]["threads"] == 1
    assert f"# Starter model: {result.starter}." in result.text
    blocks = [next(iter(b)) if isinstance(b, dict) else b for b in raw["architecture"]["trunk"]]
    if rows < 100:
        assert blocks == [] and "trunk: []" in result.text
        assert raw["training"]["batch_size"] == 8
    elif rows < 1_000:
        assert blocks == ["residual"] and raw["training"]["batch_size"] == 32
        assert raw["training"]["weight_decay"] == 3.0
    else:
        assert "residual_mlp" in blocks and "tabular" not in raw["architecture"]["encoders"]


@pytest.mark.slow
def test_tiny_table_starter_trains_and_exports(tmp_path: Path) -> None:
    from kiln.blueprint import load_blueprint
    from kiln.bundle import load as load_bundle
    from kiln.export.bundle import export
    from kiln.train import train

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
    frame["y"] = frame["a"] * 2 + rng.normal(0, 0.1, 40)
    frame.to_csv(tmp_path / "t.csv", index=False)
    scaffold(tmp_path / "t.csv", "y", tmp_path / "bp.yaml")
    bp = load_blueprint(tmp_path / "bp.yaml")
    bp.training.epochs = 5
    run = train(bp, quiet=True, tracking=False)
    bundle = load_bundle(export(run, output=tmp_path / "bundle"))
    answers = bundle.predict([{"a": 0.5, "b": 0.0, "c": 1.0}])
    assert len(answers) == 1
