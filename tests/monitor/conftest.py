"""One trained shop-classifier bundle per session for the monitor tests."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from monitor_helpers import make_shop_bundle


@pytest.fixture(scope="session")
def shop_bundle_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_shop_bundle(tmp_path_factory.mktemp("monitor") / "shop")


@pytest.fixture(scope="session")
def shop_bundle(shop_bundle_path: Path) -> Any:
    from kiln.bundle import load

    return load(shop_bundle_path)
