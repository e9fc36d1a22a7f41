"""Duplicate rows in the source table: grouped, dropped or kept, and counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from data_helpers import make_blueprint

from kiln.data import prepare_data
from kiln.data.duplicates import find_duplicates

NUMERIC = [{"name": "x", "type": "numeric"}, {"name": "y", "type": "numeric"}]


def duplicated_table(tmp_path: Path, rows: int = 200) -> pd.DataFrame:
    """`rows` unique rows, then 20% more rows copied from them; 10 copies flip the label."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=rows).round(6), rng.normal(size=rows).round(6)
    frame = pd.DataFrame({"x": x, "y": y, "label": np.where(x + y > 0, "a", "b")})
    copies = frame.iloc[rng.choice(rows, size=rows // 5, replace=False)].copy()
    flip = copies.index[:10]
    copies.loc[flip, "label"] = np.where(copies.loc[flip, "label"] == "a", "b", "a")
    table = pd.concat([frame, copies], ignore_index=True).sample(frac=1.0, random_state=1)
    table.to_csv(tmp_path / "t.csv", index=False)
    return table.reset_index(drop=True)


def test_find_duplicates_counts_copies_and_conflicts() -> None:
    features = np.array([5, 7, 5, 9, 7, 5], dtype=np.uint64)
    full = np.array([1, 2, 1, 3, 4, 1], dtype=np.uint64)  # the second 7 has another label
    dups = find_duplicates(features, full)
    assert dups.group.tolist() == [0, 1, 0, 2, 1, 0]
    assert dups.first.tolist() == [0, 1, 3]
    assert (dups.copies, dups.conflicting, dups.conflicting_rows) == (3, 1, 2)


def test_grouped_duplicates_train_and_never_straddle(tmp_path: Path) -> None:
    table = duplicated_table(tmp_path)
    data = prepare_data(make_blueprint(tmp_path, "t.csv", features=NUMERIC))
    check = next(c for c in data.checks if c.name == "duplicates")
    assert check.level == "warning"
    assert "40 of 240 rows (16.7%) repeat an earlier row's features" in check.message
    assert "10 of them (20 rows) disagree on the target" in check.message
    assert {c.level for c in data.checks if c.name == "leakage"} == {"ok"}
    keys = [tuple(r) for r in table[["x", "y"]].to_numpy()]
    where = {}
    for name, split in (("train", data.train), ("val", data.val), ("test", data.test)):
        for row in split.index:
            assert where.setdefault(keys[row], name) == name  # one split per feature row
    assert len(data.train) + len(data.val) + len(data.test) == 240
    assert 40 <= len(data.test) <= 56  # about 20%, by whole groups


@pytest.mark.parametrize(("policy", "rows", "leakage"), [("drop", 200, {"ok"}),
                                                         ("keep", 240, {"warning"})])
def test_drop_and_keep_policies(tmp_path: Path, policy: str, rows: int,
                                leakage: set[str]) -> None:
    duplicated_table(tmp_path)
    data = prepare_data(make_blueprint(tmp_path, "t.csv", features=NUMERIC, duplicates=policy))
    assert len(data.table) == rows
    assert f"data.duplicates: {policy}" in next(c.message for c in data.checks
                                                 if c.name == "duplicates")
    assert {c.level for c in data.checks if c.name == "leakage"} == leakage



def test_a_float_binary_column_with_one_level_in_train() -> None:
    """A 0.0/1.0 float column whose 1.0 appears only outside train (digits' rare pixels)."""
    from kiln.blueprint.schema import FeatureSpec
    from kiln.data.transforms import BinaryTransform

    transform = BinaryTransform(FeatureSpec(name="rare", type="binary"))
    transform.fit(np.array([0.0, 0.0, 0.0]))
    assert transform.transform(np.array([1.0, 0.0, np.nan])).tolist() == [1.0, 0.0, 0.0]
