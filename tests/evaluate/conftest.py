"""Two tiny trained runs shared by the evaluate tests (trained once per session).

Both live in one session-wide kiln home; `kiln_home` is overridden here so that every
test in this folder sees it (and its MLflow store) as $KILN_HOME.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

BREAST_CANCER: dict[str, Any] = {
    "name": "bc", "seed": 0,
    "task": {"type": "classification", "target": "label",
             "metrics": ["accuracy", "roc_auc"]},
    "data": {"source": "sklearn:breast_cancer", "slices": ["mean radius"]},
    "architecture": {"trunk": [{"linear": {"units": 32}}, "relu"]},
    "training": {"epochs": 8, "batch_size": 32, "lr": 0.003},
}


def mixed_table(rows: int = 240, seed: int = 0) -> pd.DataFrame:
    """Numeric, categorical and text inputs; a regression and a classification target."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=rows), rng.normal(size=rows)
    city = rng.choice(["north", "south", "east"], rows)
    words = np.array(["red", "green", "blue", "big", "small"])
    note = [" ".join(rng.choice(words, 3)) for _ in range(rows)]
    price = 3 * a - b + (city == "north") * 2 + rng.normal(0, 0.3, rows) + 10
    kind = np.where(a + (city == "south") > 0.5, "high", "low")
    return pd.DataFrame({"a": a, "b": b, "city": city, "note": note, "price": price,
                         "kind": kind})


def mixed_blueprint(source: Path) -> dict[str, Any]:
    return {
        "name": "mixed", "seed": 1,
        "task": {"targets": [{"name": "price", "type": "regression"},
                             {"name": "kind", "type": "classification"}],
                 "metrics": ["r2", "accuracy"], "objective": "accuracy"},
        "data": {"source": str(source), "slices": ["city", "a"], "features": [
            {"name": "a", "type": "numeric"}, {"name": "b", "type": "numeric"},
            {"name": "city", "type": "categorical"},
            {"name": "note", "type": "text", "vocab_size": 20, "max_length": 4}]},
        "architecture": {"encoders": {"note": [{"embedding": {"dim": 4}}, "seq_pool"]},
                         "trunk": [{"linear": {"units": 16}}, "relu"]},
        "training": {"epochs": 3, "batch_size": 32},
    }


@pytest.fixture(scope="session")
def session_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("evaluate-home")


@pytest.fixture(autouse=True)
def kiln_home(session_home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("KILN_HOME", str(session_home))
    monkeypatch.delenv("KILN_TRACKING_URI", raising=False)
    return session_home


def _train(raw: dict[str, Any], home: Path) -> Path:
    from kiln import load_blueprint
    from kiln.train import train

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KILN_HOME", str(home))
        mp.delenv("KILN_TRACKING_URI", raising=False)
        return train(load_blueprint(raw), quiet=True).dir


@pytest.fixture(scope="session")
def bc_run(session_home: Path) -> Path:
    """A breast-cancer MLP run directory."""
    return _train(BREAST_CANCER, session_home)


@pytest.fixture(scope="session")
def mixed_run(session_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-headed run (regression + classification) on numeric, categorical and text."""
    folder = tmp_path_factory.mktemp("mixed-data")
    mixed_table().to_csv(folder / "table.csv", index=False)
    return _train(mixed_blueprint(folder / "table.csv"), session_home)
