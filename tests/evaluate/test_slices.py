"""Per-slice metrics: categorical values, numeric quantile bins, counts, a missing column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kiln.errors import BlueprintError
from kiln.evaluate.slices import slice_labels, slice_metrics


def test_numeric_values_fall_in_quartiles() -> None:
    labels = slice_labels(np.arange(100.0), numeric=True)
    values, counts = np.unique(labels, return_counts=True)
    assert len(values) == 4 and set(counts) == {25}


def test_rare_and_missing_categories_are_pooled() -> None:
    values = ["a"] * 30 + [f"r{i}" for i in range(25)] + [None]
    labels = slice_labels(values, numeric=False)
    assert (labels == "(missing)").sum() == 1
    assert (labels == "(other)").sum() > 0
    assert len(set(labels)) <= 22


def test_slice_metrics_count_and_score_each_slice() -> None:
    # The model is right on every "x" row and wrong on every "y" row.
    table = pd.DataFrame({"group": ["x", "y"] * 10 + ["z"] * 5, "age": np.arange(25.0)})
    rows = np.arange(0, 20)  # the evaluated (test) rows; "z" never appears
    y = np.zeros(20, dtype=int)
    proba = np.where((np.arange(20) % 2 == 0)[:, None], [[0.9, 0.1]], [[0.2, 0.8]])
    slices = slice_metrics(table, rows, ["group", "age"], {"age": "numeric"},
                           {"t": "classification"}, {"t": y}, {"t": proba}, ["accuracy"],
                           resamples=200)
    by_value = {(s.feature, s.value): s for s in slices}
    assert by_value["group", "x"].rows == 10
    assert by_value["group", "x"].metrics["accuracy"].value == 1.0
    assert by_value["group", "y"].metrics["accuracy"].value == 0.0
    assert ("group", "z") not in by_value
    ages = [s for s in slices if s.feature == "age"]
    assert sum(s.rows for s in ages) == 20 and len(ages) == 4
    assert ages[0].value.startswith("[0,")


def test_a_slice_column_not_in_the_data_is_a_blueprint_error() -> None:
    table = pd.DataFrame({"group": ["x"]})
    with pytest.raises(BlueprintError, match=r"data.slices\[0\].*grup.*did you mean \"group\""):
        slice_metrics(table, np.arange(1), ["grup"], {}, {"t": "classification"},
                      {"t": np.zeros(1, int)}, {"t": np.array([[1.0, 0.0]])}, ["accuracy"],
                      resamples=10)
