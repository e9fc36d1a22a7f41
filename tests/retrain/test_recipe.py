"""The data recipe: original + new rows, a fresh holdout nobody trains on, the cap."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from retrain_helpers import table, write_blueprint, write_csv

from kiln import load_blueprint
from kiln.blueprint.retrain_spec import RecipeSpec
from kiln.errors import DataError
from kiln.retrain.recipe import HOLDOUT, SPLIT_COLUMN, TRAIN, VAL, build


def _setup(tmp_path: Path, n_old: int = 200) -> tuple[Any, Any]:
    old = write_csv(table(n_old, seed=1), tmp_path / "old.csv")
    return load_blueprint(write_blueprint(tmp_path, old)), table(300, seed=2)


def test_the_challenger_splits_are_exactly_the_recipe(tmp_path: Path) -> None:
    from kiln.data import prepare_data
    from kiln.data.sources import load_source

    bp, new = _setup(tmp_path)
    recipe = build(bp, new, RecipeSpec(holdout=0.3, max_new_share=1.0),
                   folder=tmp_path / "r", sources=["new.csv"])
    counts = recipe.counts
    assert counts["holdout"] == 90 and counts["new"] == 300
    assert counts["new_train"] + counts["new_val"] == 210 and counts["dropped_by_cap"] == 0
    stored = load_source(recipe.table).frame
    prepared = prepare_data(recipe.blueprint)  # what train, evaluate and export all see
    tags = np.asarray(stored[SPLIT_COLUMN])
    assert np.array_equal(np.sort(prepared.test.index), np.flatnonzero(tags == HOLDOUT))
    assert np.array_equal(np.sort(prepared.val.index), np.flatnonzero(tags == VAL))
    assert np.array_equal(np.sort(prepared.train.index), np.flatnonzero(tags == TRAIN))
    assert len(prepared.train) == counts["original_train"] + counts["new_train"]
    # the fresh holdout is new rows only, none of them in training
    holdout_x = {tuple(r) for r in recipe.holdout[["x0", "x1"]].to_numpy().round(9)}
    new_x = {tuple(r) for r in new[["x0", "x1"]].to_numpy().round(9)}
    train_x = {tuple(r) for r in stored.iloc[prepared.train.index][["x0", "x1"]]
               .to_numpy().round(9)}
    assert len(holdout_x) == 90 and holdout_x <= new_x and not holdout_x & train_x
    assert SPLIT_COLUMN not in [f.name for f in prepared.features]


def test_new_rows_are_capped_to_their_share_keeping_the_latest(tmp_path: Path) -> None:
    bp, new = _setup(tmp_path, n_old=100)
    recipe = build(bp, new, RecipeSpec(max_new_share=0.25),
                   folder=tmp_path / "r", sources=[])
    c = recipe.counts
    assert c["new_train"] == int(0.25 * c["original_train"] / 0.75)
    assert c["new_train"] / (c["new_train"] + c["original_train"]) <= 0.25
    assert c["dropped_by_cap"] > 0


def test_new_rows_only(tmp_path: Path) -> None:
    bp, new = _setup(tmp_path)
    recipe = build(bp, new, RecipeSpec(include_original=False),
                   folder=tmp_path / "r", sources=[])
    assert recipe.counts["original_train"] == 0 and recipe.counts["original_val"] == 0
    assert recipe.counts["new_train"] > 0


def test_too_few_rows_for_a_holdout(tmp_path: Path) -> None:
    bp, new = _setup(tmp_path)
    with pytest.raises(DataError, match=r"fresh holdout of 15 rows.*min_holdout_rows"):
        build(bp, new.head(50), RecipeSpec(), folder=tmp_path / "r",
              sources=[])


def test_missing_column_is_named(tmp_path: Path) -> None:
    bp, new = _setup(tmp_path)
    with pytest.raises(DataError, match=r"fresh\.csv: no column 'x3'"):
        build(bp, new.drop(columns=["x3"]), RecipeSpec(),
              folder=tmp_path / "r", sources=["fresh.csv"])


def test_text_numbers_from_a_log_are_cast_or_refused(tmp_path: Path) -> None:
    bp, new = _setup(tmp_path)
    as_text = new.astype(str)
    recipe = build(bp, as_text, RecipeSpec(), folder=tmp_path / "r", sources=[])
    assert recipe.holdout["x0"].dtype.kind == "f"
    as_text.loc[3, "x1"] = "abc"
    with pytest.raises(DataError, match="'x1' holds 'abc'"):
        build(bp, as_text, RecipeSpec(), folder=tmp_path / "r2", sources=[])


def test_copies_of_known_rows_are_dropped(tmp_path: Path) -> None:
    import pandas as pd

    bp, new = _setup(tmp_path)
    old = pd.read_csv(tmp_path / "old.csv")
    mixed = pd.concat([new, old.head(20), new.head(5)], ignore_index=True)
    recipe = build(bp, mixed, RecipeSpec(), folder=tmp_path / "r", sources=[])
    assert recipe.counts["copies_dropped"] == 25 and recipe.counts["new"] == 300


def test_images_from_a_log_recipe(tmp_path: Path) -> None:
    """Digits: logged images arrive as nested lists and labels as text; the table holds
    them as arrays, and preparing the challenger's data gives the recipe's split."""
    from kiln.data import prepare_data
    from kiln.data.sources import load_sklearn

    bp = load_blueprint(Path(__file__).resolve().parents[2] / "examples" / "digits_cnn.yaml")
    frame = load_sklearn("digits").frame
    new = frame.sample(200, random_state=0).reset_index(drop=True)
    rng = np.random.default_rng(0)  # a new regime: brighter, noisier pixels
    new["image"] = [np.clip(v * 1.3 + rng.normal(0, 1, v.shape), 0, 16).tolist()
                    for v in new["image"]]
    new["label"] = [str(v) for v in new["label"]]
    recipe = build(bp, new, RecipeSpec(), folder=tmp_path / "r", sources=[])
    prepared = prepare_data(recipe.blueprint)
    assert len(prepared.test) == recipe.counts["holdout"] == 60
    assert prepared.test.inputs["image"].shape == (60, 1, 8, 8)
