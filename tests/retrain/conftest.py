"""Fixtures for the retrain tests: a migrated MLflow store per test, generated tables."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite store with its schema created once: migrations take seconds."""
    home = tmp_path_factory.mktemp("mlflow-template")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KILN_HOME", str(home))
        mp.delenv("KILN_TRACKING_URI", raising=False)
        from kiln.tracking import client

        client().search_registered_models()
    return home / "mlflow.db"


@pytest.fixture(autouse=True)
def kiln_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, migrated_db: Path) -> Path:
    """Like the root fixture (a fresh $KILN_HOME per test), starting from a migrated store."""
    import shutil

    home = tmp_path / "kiln-runs"
    home.mkdir()
    shutil.copy(migrated_db, home / "mlflow.db")
    monkeypatch.setenv("KILN_HOME", str(home))
    monkeypatch.delenv("KILN_TRACKING_URI", raising=False)
    return home
