"""The drift trigger against the real monitor: a real bundle in a real registry, a real
prediction log — no stand-in for `kiln.monitor.check`."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "monitor"))

from monitor_helpers import make_shop_bundle, population, shop_blueprint, write_log

from kiln.blueprint.retrain_spec import RetrainSpec
from kiln.retrain import stage
from kiln.retrain.triggers import detect

T0 = 1_700_000_000.0


@pytest.mark.slow
def test_a_real_drift_in_a_real_log_fires_the_trigger(tmp_path: Path) -> None:
    from kiln.bundle import load
    from kiln.registry import promote, register

    path = make_shop_bundle(tmp_path / "shop", train_rows=1500, val_rows=1000, steps=150)
    version = register(path, name="shop")
    promote("shop", version.version, alias="champion")
    bundle = load(path)
    bp = shop_blueprint()
    policy = RetrainSpec.model_validate({"triggers": {"drift": True}})

    log = tmp_path / "predictions.db"
    write_log(log, bundle, population(500, 11), start=T0, labels=False)
    check = stage._drift_check(bp, "shop", log)
    assert check is not None and check(None) is False  # the training world: no drift
    assert detect(policy, name="shop", log=log, last=None, drift_check=check) is None

    # one feature moves by one standard deviation: the real monitor calls drift
    write_log(log, bundle, population(500, 12, shift=1.0), start=T0 + 1000, prefix="s",
              labels=False)
    assert check(T0 + 999) is True
    fired = detect(policy, name="shop", log=log, last=None, drift_check=check)
    assert fired is not None and fired.kind == "drift"
