"""Shadow mode: `kiln serve A --shadow B` answers from A, runs B on the same records off
the request path, logs B's answers as shadow rows, and `kiln monitor` reports agreement and
both accuracies once labels arrive — a real server process, a real log."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from serve_helpers import start_server

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "monitor"))

from monitor_helpers import make_shop_bundle, population

from kiln import prediction_log

KilnCli = Callable[..., tuple[int, str, str]]
NAMES = ["x1", "x2", "city", "note"]


@pytest.mark.slow
def test_shadow_answers_are_logged_and_compared(tmp_path: Path, kiln_cli: KilnCli) -> None:
    from kiln.monitor import check

    primary = make_shop_bundle(tmp_path / "primary", train_rows=1500, val_rows=500, steps=150)
    shadow = make_shop_bundle(tmp_path / "shadow", train_rows=300, val_rows=300, steps=5)
    log = tmp_path / "predictions.db"
    frame = population(200, 21)
    with start_server(primary, "--no-admin", "--log", str(log), "--flush-ms", "50",
                      "--monitor-every", "0", "--shadow", str(shadow)) as server:
        versions = set()
        for start in range(0, 200, 20):
            part = frame.iloc[start:start + 20]
            answer = requests.post(f"{server.url}/predict",
                                   json={"records": part[NAMES].to_dict("records")},
                                   timeout=30).json()
            versions.add(answer["version"])
            stored = requests.post(f"{server.url}/feedback", json={
                "request_id": answer["request_id"], "labels": part["kind"].tolist()},
                timeout=30).json()
            assert stored["stored"] == [answer["request_id"]]
        metrics = requests.get(f"{server.url}/metrics", timeout=10).text
    assert len(versions) == 1  # every client answer came from the primary

    conn = prediction_log.connect(log, create=False)
    try:
        main_rows = list(prediction_log.read(conn, shadow=False))
        shadow_rows = list(prediction_log.read(conn, shadow=True))
    finally:
        conn.close()
    assert len(main_rows) == len(shadow_rows) == 200
    assert {r.version for r in main_rows} == versions
    assert {r.version for r in shadow_rows} != versions  # the other bundle answered
    assert "kiln_shadow_records_total 200.0" in metrics

    by_key = {(r.request_id, r.record): r for r in main_rows}
    pairs = [(by_key[(s.request_id, s.record)], s) for s in shadow_rows]
    report = check(primary, log)
    assert report.rows == 200  # shadow rows are not drift-tested as live traffic
    found = report.shadow
    assert found is not None and found["rows"] == 200 and found["labelled_rows"] == 200
    assert found["agreement"] == pytest.approx(
        sum(p.prediction == s.prediction for p, s in pairs) / 200)
    assert found["primary_accuracy"] == pytest.approx(
        sum(p.prediction == p.label for p, _ in pairs) / 200)
    assert found["shadow_accuracy"] == pytest.approx(
        sum(s.prediction == p.label for p, s in pairs) / 200)
    assert found["agreement"] < 1.0  # two different models

    code, out, err = kiln_cli("monitor", "--log", str(log), "--bundle", str(primary))
    assert code in (0, 3), err  # 3: an alert fired (the shop world has a floor)
    assert "shadow" in out and "agrees on" in out, out + err
