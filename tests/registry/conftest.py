"""Bundles for the registry tests (built like the bundle tests' ones) and a tracking store."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bundle"))

from bundle_helpers import Parts, make_bundle, mixed_blueprint, mixed_frame


@pytest.fixture(scope="session")
def small_bundle(tmp_path_factory: pytest.TempPathFactory) -> Parts:
    """A small two-head tabular bundle (regression + classification)."""
    return make_bundle(mixed_blueprint(), mixed_frame(80), tmp_path_factory.mktemp("r") / "m")


@pytest.fixture(autouse=True)
def kiln_home(migrated_kiln_home: Path) -> Path:
    """A fresh $KILN_HOME per test, starting from a migrated MLflow store (root conftest)."""
    return migrated_kiln_home
