"""Fixtures for the retrain tests: a migrated MLflow store per test, generated tables."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def kiln_home(migrated_kiln_home: Path) -> Path:
    """A fresh $KILN_HOME per test, starting from a migrated MLflow store (root conftest)."""
    return migrated_kiln_home
