"""Fixtures for the compression tests: tiny models, built (not trained), so they are fast."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from compress_helpers import EXAMPLES, mlp_blueprint

from kiln import build_model, load_blueprint
from kiln.model import declared_signature
from kiln.model.signature import Signature


@pytest.fixture
def digits_cnn() -> tuple[Any, Signature]:
    bp = load_blueprint(EXAMPLES / "digits_cnn.yaml")
    return build_model(bp), declared_signature(bp)


@pytest.fixture
def mlp() -> tuple[Any, Signature]:
    bp = mlp_blueprint()
    return build_model(bp), declared_signature(bp)


@pytest.fixture(scope="session")
def digits_run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The digits CNN trained for a few epochs (no tracking), once per session.

    Tests load it with `load_run(digits_run_dir)`, which works whatever $KILN_HOME is.
    """
    import os

    from kiln.train import train

    home = tmp_path_factory.mktemp("compress-home")
    before = os.environ.get("KILN_HOME")
    os.environ["KILN_HOME"] = str(home)
    try:
        bp = load_blueprint(EXAMPLES / "digits_cnn.yaml")
        bp.training.epochs = 4
        bp.training.threads = 1  # a shared CI box: one thread is faster than contention
        run = train(bp, quiet=True, tracking=False)
    finally:
        if before is None:
            os.environ.pop("KILN_HOME", None)
        else:
            os.environ["KILN_HOME"] = before
    return run.dir
