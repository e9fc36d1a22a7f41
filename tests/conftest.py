"""Shared fixtures: every test gets its own kiln home (runs, tracking store)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"


@pytest.fixture(autouse=True)
def kiln_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Isolate runs and the MLflow store per test: $KILN_HOME is a fresh temp folder."""
    home = tmp_path / "kiln-runs"
    monkeypatch.setenv("KILN_HOME", str(home))
    monkeypatch.delenv("KILN_TRACKING_URI", raising=False)
    return home
