"""A categorical column with hundreds of categories is a warning in the data checks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from data_helpers import make_blueprint

from kiln.data import prepare_data


def test_a_400_category_column_is_warned_about(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    rows = 1200
    pd.DataFrame({"shop": [f"shop-{i % 400}" for i in range(rows)],
                  "x": rng.normal(size=rows),
                  "label": rng.choice(["a", "b"], rows)}).to_csv(tmp_path / "t.csv",
                                                                  index=False)
    features = [{"name": "shop", "type": "categorical"}, {"name": "x", "type": "numeric"}]
    data = prepare_data(make_blueprint(tmp_path, "t.csv", features=features))
    [check] = [c for c in data.checks if c.name == "cardinality"]
    assert check.level == "warning"
    assert check.message.startswith("'shop': 400 categories, 3.0 rows each on average")


def test_a_few_categories_are_not_warned_about(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pd.DataFrame({"city": rng.choice(["a", "b", "c"], 60), "x": rng.normal(size=60),
                  "label": ["p", "q"] * 30}).to_csv(tmp_path / "t.csv", index=False)
    features = [{"name": "city", "type": "categorical"}, {"name": "x", "type": "numeric"}]
    data = prepare_data(make_blueprint(tmp_path, "t.csv", features=features))
    assert not [c for c in data.checks if c.name == "cardinality"]
