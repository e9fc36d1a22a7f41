"""Fixtures of the tune tests: a real PostgreSQL server, and tiny search blueprints."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(cmd: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its binaries as the `postgres` system user."""
    if os.geteuid() != 0:
        return cmd
    return ["runuser", "-u", "postgres", "--", *cmd]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throw-away PostgreSQL server on a free local port; yields a base URL without a
    database name (`postgresql://kiln@127.0.0.1:PORT`). Data directory in a temp folder."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        if os.environ.get("CI"):  # CI's set-up installs it: a missing server is a failure
            pytest.fail("PostgreSQL is not installed although CI ran scripts/system-deps.sh")
        pytest.skip("PostgreSQL is not installed — run scripts/system-deps.sh")
    root = Path(tempfile.mkdtemp(prefix="kiln-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    subprocess.run(_as_server_user([str(bin_dir / "initdb"), "-D", str(data), "-U", "kiln",
                                    "--auth=trust", "-E", "UTF8", "--no-sync"]),
                   check=True, capture_output=True)
    port = _free_port()
    server = subprocess.Popen(
        _as_server_user([str(bin_dir / "postgres"), "-D", str(data), "-p", str(port),
                         "-h", "127.0.0.1", "-k", str(root), "-c", "fsync=off",
                         "-c", "max_connections=60"]),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import psycopg2

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg2.connect(host="127.0.0.1", port=port, user="kiln",
                                 dbname="postgres").close()
                break
            except psycopg2.OperationalError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        yield f"postgresql://kiln@127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def postgres_db(postgres_server: str) -> str:
    """A fresh database on the session's server; returns its SQLAlchemy URL."""
    import psycopg2

    name = f"t{os.getpid()}_{time.monotonic_ns()}"
    conn = psycopg2.connect(f"{postgres_server}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    # psycopg2 explicitly: SQLAlchemy (and MLflow) may otherwise pick psycopg 3.
    return f"{postgres_server.replace('postgresql://', 'postgresql+psycopg2://')}/{name}"


def make_tiny_search(**search: Any) -> dict[str, Any]:
    """A small digits search: MLP or CNN, width, lr; 3 epochs, ~1 s per trial."""
    return {
        "name": "tiny_search",
        "seed": 0,
        "task": {"type": "classification", "target": "label", "num_classes": 10},
        "data": {"source": "sklearn:digits",
                 "features": [{"name": "image", "type": "image", "shape": [1, 8, 8]}]},
        "architecture": {
            "encoders": {"image": {"tune": "choice", "name": "encoder", "labels": ["mlp", "cnn"],
                                   "values": [["flatten"],
                                              [{"conv2d": {"out_channels": 8}}, "relu",
                                               "global_avg_pool"]]}},
            "trunk": [{"linear": {"units": {"tune": "int", "name": "units", "low": 16,
                                            "high": 64, "step": 16}}}, "relu"],
        },
        "training": {"epochs": 3, "batch_size": 128,
                     "lr": {"tune": "float", "name": "lr", "low": 1e-3, "high": 3e-2,
                            "log": True}},
        "search": {"trials": 4, "startup_trials": 2, "warmup_epochs": 1, **search},
    }


@pytest.fixture
def tiny_search() -> Any:
    """`tiny_search(**search_settings)` → a fresh raw blueprint mapping."""
    return make_tiny_search


@pytest.fixture
def write_blueprint(tmp_path: Path) -> Any:
    def write(raw: dict[str, Any], name: str = "search.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
        return path

    return write
