"""Promotion on shadow evidence: labelled pairs of champion and shadow-challenger answers in
a real prediction log, a real MLflow registry, the same McNemar gate as `kiln retrain`."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from kiln import prediction_log
from kiln.errors import RegistryError
from kiln.retrain.shadow_gate import promote_on_shadow

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bundle"))

from bundle_helpers import make_bundle, mixed_blueprint, mixed_frame

KilnCli = Callable[..., tuple[int, str, str]]


@pytest.fixture(scope="module")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("shadow")
    return [make_bundle(mixed_blueprint(), mixed_frame(60, seed=s), folder / f"b{s}").path
            for s in (0, 1)]


def _registered(bundles: list[Path]) -> None:
    from kiln.registry import promote, register

    first = register(bundles[0], name="m")
    second = register(bundles[1], name="m")
    promote("m", first.version, alias="champion")
    promote("m", second.version, alias="challenger")


def _log(path: Path, champion_right: np.ndarray, challenger_right: np.ndarray) -> Path:
    """One request per row: the champion (v1) and the shadow challenger (v2) answer it,
    then its label arrives; `*_right` say who answered the label."""
    conn = prediction_log.connect(path)
    rows = []
    for i, (a, b) in enumerate(zip(champion_right, challenger_right, strict=True)):
        for version, right, shadow in (("1", a, False), ("2", b, True)):
            label = "x" if right else "y"
            rows.append(prediction_log.row(
                request_id=f"r{i}", record=0, model="m", version=version, inputs={"a": i},
                outputs={"kind": {"label": label}}, prediction=label, confidence=0.9,
                ood=[], latency_ms=1.0, ts=float(i), shadow=shadow))
    prediction_log.append(conn, rows)
    for i in range(len(champion_right)):
        assert prediction_log.add_feedback(conn, f"r{i}", ["x"])
    conn.close()
    return path


def test_a_better_shadow_challenger_is_promoted_once(bundles: list[Path], tmp_path: Path,
                                                   kiln_cli: KilnCli) -> None:
    from kiln.registry import list_versions

    _registered(bundles)
    rng = np.random.default_rng(0)
    champion = rng.random(200) < 0.7
    challenger = champion | (rng.random(200) < 0.6)  # right wherever the champion is, and more
    log = _log(tmp_path / "log.db", champion, challenger)

    code, out, err = kiln_cli("promote", "m", "--log", str(log), "--json")
    assert code == 0, err
    record = json.loads(out.strip().splitlines()[-1])
    assert record["promoted"] and record["pairs"] == 200
    gained = int(np.sum(~champion & challenger))
    assert record["gate"]["test"]["details"] == {"champion_only_right": 0,
                                                 "challenger_only_right": gained}
    assert Path(record["record_path"]).is_file()
    assert [v.aliases for v in list_versions("m") if v.version == 2] == [["champion"]]
    with pytest.raises(RegistryError, match="no challenger"):
        promote_on_shadow("m", log)  # the challenger alias went with the promotion


def test_an_equal_challenger_or_too_little_evidence_is_refused(bundles: list[Path],
                                                              tmp_path: Path) -> None:
    from kiln.registry import list_versions

    _registered(bundles)
    same = np.random.default_rng(1).random(200) < 0.8
    decision = promote_on_shadow("m", _log(tmp_path / "same.db", same, same))
    assert not decision.promoted and "not better" in decision.reason
    few = promote_on_shadow("m", _log(tmp_path / "few.db", same[:10], ~same[:10]))
    assert not few.promoted and "only 10 labelled pairs" in few.reason
    assert [v.aliases for v in list_versions("m") if v.version == 1] == [["champion"]]
