"""Training tests share one freshly migrated MLflow SQLite file, copied into each test's
$KILN_HOME: creating the schema (alembic migrations) costs seconds, a copy costs nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mlflow.tracking import MlflowClient

    from kiln.tracking import quiet_mlflow

    quiet_mlflow()
    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(f"sqlite:///{path}").search_experiments()  # creates and migrates the schema
    return path


@pytest.fixture(autouse=True)
def tracking_store(kiln_home: Path, mlflow_template: Path) -> Path:
    kiln_home.mkdir(parents=True, exist_ok=True)
    target = kiln_home / "mlflow.db"
    shutil.copyfile(mlflow_template, target)
    return target
