"""Shared fixtures: every test gets its own kiln home (runs, tracking store)."""

from __future__ import annotations

from collections.abc import Callable
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


@pytest.fixture
def migrated_kiln_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                       migrated_db: Path) -> Path:
    """Like `kiln_home` (a fresh $KILN_HOME per test), starting from a migrated store; a
    folder's conftest makes it that folder's autouse `kiln_home` (registry, retrain)."""
    import shutil

    home = tmp_path / "kiln-runs"
    home.mkdir()
    shutil.copy(migrated_db, home / "mlflow.db")
    monkeypatch.setenv("KILN_HOME", str(home))
    monkeypatch.delenv("KILN_TRACKING_URI", raising=False)
    return home


KilnCli = Callable[..., tuple[int, str, str]]


@pytest.fixture
def kiln_cli(capsys: pytest.CaptureFixture[str]) -> KilnCli:
    """Run `kiln ARGS...` in-process; returns (exit code, stdout, stderr)."""
    from kiln.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return code, out, err

    return run
