"""One tiny two-headed run (regression + classification) for the report tests, trained
once per session in its own kiln home, which `kiln_home` points every test at."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest


def table(rows: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    city = rng.choice(["north", "south", "east"], rows)
    price = 3 * a - b + (city == "north") * 2 + rng.normal(0, 0.3, rows) + 10
    kind = np.where(a + (city == "south") > 0.5, "high", "low")
    return pd.DataFrame({"a": a, "b": b, "city": city, "price": price, "kind": kind})


def blueprint(source: Path) -> dict[str, Any]:
    return {
        "name": "shop", "seed": 3,
        "task": {"targets": [{"name": "price", "type": "regression"},
                             {"name": "kind", "type": "classification"}],
                 "metrics": ["accuracy", "r2"]},
        "data": {"source": str(source), "slices": ["city"]},
        "architecture": {"trunk": [{"linear": {"units": 16}}, "relu"]},
        "training": {"epochs": 4, "batch_size": 32},
    }


@pytest.fixture(scope="session")
def report_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report-home")


@pytest.fixture(autouse=True)
def kiln_home(report_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KILN_HOME", str(report_home))
    monkeypatch.delenv("KILN_TRACKING_URI", raising=False)
    return report_home


@pytest.fixture(scope="session")
def shop_run(report_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from kiln import load_blueprint
    from kiln.train import train

    folder = tmp_path_factory.mktemp("shop-data")
    table().to_csv(folder / "shop.csv", index=False)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KILN_HOME", str(report_home))
        mp.delenv("KILN_TRACKING_URI", raising=False)
        return train(load_blueprint(blueprint(folder / "shop.csv")), quiet=True).dir
