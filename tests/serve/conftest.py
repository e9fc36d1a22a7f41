"""Bundles, in-process clients and real `kiln serve` processes for the service tests."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bundle"))

from bundle_helpers import EXAMPLES, Parts, digits_frame, make_bundle, mixed_blueprint, mixed_frame
from serve_helpers import TOKEN, ClientFactory, Server, start_server

from kiln import load_blueprint


@pytest.fixture(scope="session")
def digits(tmp_path_factory: pytest.TempPathFactory) -> Parts:
    bp = load_blueprint(EXAMPLES / "digits_cnn.yaml")
    return make_bundle(bp, digits_frame(), tmp_path_factory.mktemp("s") / "digits")


@pytest.fixture(scope="session")
def digits_v2(tmp_path_factory: pytest.TempPathFactory) -> Parts:
    """Same fields and outputs as `digits`, other weights: a different answer and version."""
    import yaml

    raw = yaml.safe_load((EXAMPLES / "digits_cnn.yaml").read_text())
    raw["architecture"]["trunk"][1] = {"linear": {"units": 32}}
    return make_bundle(load_blueprint(raw), digits_frame(), tmp_path_factory.mktemp("s")
                       / "digits-v2")


@pytest.fixture(scope="session")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Parts:
    return make_bundle(mixed_blueprint(), mixed_frame(), tmp_path_factory.mktemp("s") / "mixed")


@pytest.fixture
def client(tmp_path: Path) -> ClientFactory:
    """`with client(bundle_path, **settings) as c:` an in-process TestClient (lifespan on)."""
    from fastapi.testclient import TestClient

    from kiln.serve import ServeSettings, create_app

    @contextmanager
    def make(source: Any, **settings: Any) -> Iterator[TestClient]:
        settings.setdefault("admin_token", TOKEN)
        settings.setdefault("log", str(tmp_path / "predictions.db"))
        app = create_app(source, ServeSettings(**settings))
        with TestClient(app, raise_server_exceptions=False) as test_client:
            yield test_client

    return make


@pytest.fixture(scope="session")
def digits_server(digits: Parts, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One real `kiln serve` process on the digits bundle, shared by read-only tests."""
    log = tmp_path_factory.mktemp("log") / "predictions.db"
    with start_server(digits.path, "--log", str(log), env={"KILN_ADMIN_TOKEN": TOKEN}) as srv:
        yield srv
