"""Checks before training, through `prepare_data` on tiny CSV tables."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from data_helpers import make_blueprint

from kiln.data import CheckResult, prepare_data
from kiln.data.checks import ChecksFailed, render_checks
from kiln.errors import DataError


def write(tmp_path: Path, columns: dict[str, Any]) -> str:
    pd.DataFrame(columns).to_csv(tmp_path / "t.csv", index=False)
    return "t.csv"


def levels(checks: list[CheckResult], name: str) -> list[str]:
    return [c.level for c in checks if c.name == name]


def base(rows: int = 40, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    return {"x": rng.normal(size=rows).round(6), "y": rng.normal(size=rows).round(6),
            "label": ["a", "b"] * (rows // 2)}


NUMERIC = [{"name": "x", "type": "numeric"}, {"name": "y", "type": "numeric"}]


def test_clean_table_is_all_ok(tmp_path: Path) -> None:
    data = prepare_data(make_blueprint(tmp_path, write(tmp_path, base()), features=NUMERIC))
    assert {c.level for c in data.checks} == {"ok"}
    assert [c.name for c in data.checks] == ["schema", "non-finite", "missing", "duplicates",
                                             "constant",
                                             "balance", "leakage"]


def test_missing_values_imputed_or_dropped(tmp_path: Path) -> None:
    columns = base()
    columns["x"][[3, 7]] = np.nan
    columns["y"][5] = np.nan
    features = [{"name": "x", "type": "numeric"}, {"name": "y", "type": "numeric",
                                                   "missing": "drop"}]
    data = prepare_data(make_blueprint(tmp_path, write(tmp_path, columns), features=features))
    messages = [c.message for c in data.checks if c.name == "missing"]
    assert messages == ["'x': 2 missing (imputed (median))", "'y': 1 missing (rows dropped)"]
    assert len(data.table) == 39
    assert not np.isnan(data.train.inputs["tabular"]).any()


def test_missing_with_error_policy_names_the_rows(tmp_path: Path) -> None:
    columns = base()
    columns["x"][[3, 7]] = np.nan
    features = [{"name": "x", "type": "numeric", "missing": "error"}]
    with pytest.raises(ChecksFailed, match=r"'x': missing at row 4, 8 and the feature says "
                                           r"missing: error") as info:
        prepare_data(make_blueprint(tmp_path, write(tmp_path, columns), features=features))
    assert levels(info.value.checks, "missing") == ["error"]
    assert isinstance(info.value, DataError)


def test_binary_with_three_values_is_a_schema_error(tmp_path: Path) -> None:
    columns = {**base(), "m": ["yes", "no", "maybe", "no"] * 10}
    features = [*NUMERIC, {"name": "m", "type": "binary"}]
    with pytest.raises(ChecksFailed, match=r"schema: 'm' is declared binary but has 3 values"):
        prepare_data(make_blueprint(tmp_path, write(tmp_path, columns), features=features))


def test_constant_column_warns(tmp_path: Path) -> None:
    columns = {**base(), "z": [5.0] * 40}
    features = [*NUMERIC, {"name": "z", "type": "numeric"}]
    data = prepare_data(make_blueprint(tmp_path, write(tmp_path, columns), features=features))
    assert levels(data.checks, "constant") == ["warning"]
    assert "'z'" in next(c.message for c in data.checks if c.name == "constant")


def test_class_imbalance_warns(tmp_path: Path) -> None:
    columns = {**base(rows=60), "label": ["a"] * 55 + ["b"] * 5}
    data = prepare_data(make_blueprint(tmp_path, write(tmp_path, columns), features=NUMERIC))
    balance = next(c for c in data.checks if c.name == "balance")
    assert balance.level == "warning" and "(11.0:1)" in balance.message


def test_too_few_rows_of_a_class(tmp_path: Path) -> None:
    columns = {**base(), "label": ["a"] * 38 + ["b"] * 2}
    with pytest.raises(ChecksFailed, match=r"class 'b' \(2\) has fewer rows than the 3 splits"):
        prepare_data(make_blueprint(tmp_path, write(tmp_path, columns), features=NUMERIC))


def test_label_seen_only_in_the_test_split(tmp_path: Path) -> None:
    columns = {**base(), "when": list(range(40)), "label": ["a", "b"] * 17 + ["c"] * 6}
    bp = make_blueprint(tmp_path, write(tmp_path, columns), features=NUMERIC,
                        split={"method": "time", "column": "when", "test": 0.15, "val": 0.1})
    with pytest.raises(DataError, match=r"label 'c' appears in the test split but not in "
                                        r"train"):
        prepare_data(bp)


def test_leakage_warning_for_shared_features(tmp_path: Path) -> None:
    columns = base()
    for key in ("x", "y"):  # rows 2k and 2k+1 share their features, not their label
        columns[key] = np.repeat(columns[key][:20], 2)
    bp = make_blueprint(tmp_path, write(tmp_path, columns), features=NUMERIC,
                        duplicates="keep")
    data = prepare_data(bp)
    leakage = [c for c in data.checks if c.name == "leakage"]
    assert {c.level for c in leakage} == {"warning"}
    assert "test rows have the same features as a training row" in leakage[-1].message


def test_copies_across_a_user_group_split_stay_an_error(tmp_path: Path) -> None:
    columns = pd.DataFrame(base())
    doubled = pd.concat([columns, columns], ignore_index=True)  # every row twice
    doubled["site"] = np.arange(len(doubled)) % 7  # the user's groups separate the copies
    doubled.to_csv(tmp_path / "t.csv", index=False)
    bp = make_blueprint(tmp_path, "t.csv", features=NUMERIC,
                        split={"method": "group", "column": "site"})
    with pytest.raises(ChecksFailed, match=r"leakage: \d+ of \d+ validation rows are exact "
                                           r"copies of training rows") as info:
        prepare_data(bp)
    assert "error" in levels(info.value.checks, "leakage")


def test_render_checks_is_one_table() -> None:
    from rich.console import Console

    checks = [CheckResult("schema", "ok", "10 rows"),
              CheckResult("leakage", "warning", "2 of 5 [test] rows shared")]
    console = Console(width=100, record=True)
    console.print(render_checks(checks))
    text = console.export_text()
    assert "schema" in text and "warning" in text and "[test]" in text


def test_declared_num_classes_differs_from_the_data(tmp_path: Path) -> None:
    bp = make_blueprint(tmp_path, write(tmp_path, base()), features=NUMERIC)
    bp.task.targets[0].num_classes = 3
    data = prepare_data(bp)
    assert levels(data.checks, "classes") == ["warning"]
    assert data.signature.outputs[0].size == 2
