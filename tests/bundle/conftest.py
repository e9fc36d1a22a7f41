"""Session-wide bundles for the bundle tests (see bundle_helpers)."""

from __future__ import annotations

import pytest
from bundle_helpers import EXAMPLES, Parts, digits_frame, make_bundle, mixed_blueprint, mixed_frame

from kiln import load_blueprint


@pytest.fixture(scope="session")
def digits_bundle(tmp_path_factory: pytest.TempPathFactory) -> Parts:
    bp = load_blueprint(EXAMPLES / "digits_cnn.yaml")
    return make_bundle(bp, digits_frame(), tmp_path_factory.mktemp("b") / "digits")


@pytest.fixture(scope="session")
def mixed_bundle(tmp_path_factory: pytest.TempPathFactory) -> Parts:
    return make_bundle(mixed_blueprint(), mixed_frame(), tmp_path_factory.mktemp("b") / "mixed")
