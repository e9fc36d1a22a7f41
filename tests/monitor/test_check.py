"""`kiln.monitor.check` end to end on prediction logs written through kiln.prediction_log:
realised accuracy against a direct computation, the confidence-based estimate against it,
windows, labels from a CSV, operations figures and errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from monitor_helpers import population, write_log

from kiln import prediction_log
from kiln.blueprint.monitor_spec import MonitorSpec
from kiln.errors import DataError
from kiln.monitor import MonitorReport, check

START = 1_700_000_000.0


@pytest.fixture(scope="module")
def calm_log(shop_bundle: Any, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    path = tmp_path_factory.mktemp("log") / "predictions.db"
    frame = population(4000, 21)
    answers = write_log(path, shop_bundle, frame, batch=4)
    return path, (frame, answers)


def test_realised_accuracy_equals_a_direct_computation(shop_bundle: Any,
                                                      calm_log: tuple[Path, Any]) -> None:
    path, (frame, answers) = calm_log
    report = check(shop_bundle, path)
    predicted = np.array([a["answer"]["kind"]["label"] for a in answers])
    truth = frame["kind"].to_numpy()
    assert report.rows == report.labelled_rows == 4000
    assert report.accuracy == pytest.approx(float((predicted == truth).mean()), abs=1e-12)
    low, high = report.performance["accuracy"]["ci95"]
    assert low < report.accuracy < high and high - low < 0.04


def test_estimated_accuracy_is_within_two_points_on_an_unshifted_window(
        shop_bundle: Any, calm_log: tuple[Path, Any]) -> None:
    report = check(shop_bundle, calm_log[0])
    assert report.estimated_accuracy is not None and report.accuracy is not None
    assert report.performance["estimated_accuracy"]["calibrated"]
    assert abs(report.estimated_accuracy - report.accuracy) <= 0.02
    error = report.performance["estimate_error"]
    assert error["rows"] == 4000 and abs(error["difference"]) <= 0.02
    assert not report.drift_detected and report.alerts == []


def test_operations_and_windows(shop_bundle: Any, calm_log: tuple[Path, Any]) -> None:
    path = calm_log[0]
    report = check(shop_bundle, path, since=START + 1000, until=START + 2000)
    assert report.rows == 1000
    ops = report.operations
    latencies = 2.0 + (np.arange(1000, 2000) % 7)
    assert ops["latency_p50_ms"] == pytest.approx(np.percentile(latencies, 50))
    assert ops["latency_p99_ms"] == pytest.approx(np.percentile(latencies, 99))
    assert ops["requests"] == 250 and ops["throughput_rps"] == pytest.approx(250 / 999)
    assert ops["error_rate"] == 0.0 and 0.0 <= ops["ood_rate"] < 0.01
    assert len(report.over_time) == 12 and sum(b["rows"] for b in report.over_time) == 1000
    payload = json.loads(json.dumps(report.to_dict()))
    assert payload["rows"] == 1000 and payload["drift"][0]["feature"] == "x1"


def test_labels_csv_joins_by_request_id(shop_bundle: Any, tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    frame = population(300, 31)
    answers = write_log(path, shop_bundle, frame, labels=False)
    assert check(shop_bundle, path).labelled_rows == 0
    csv = tmp_path / "labels.csv"
    truth = frame["kind"].tolist()
    csv.write_text("request_id,label\n" + "".join(f"r{i},{truth[i]}\n" for i in range(0, 300, 2)))
    report = check(shop_bundle, path, labels=csv)
    predicted = np.array([a["answer"]["kind"]["label"] for a in answers])[::2]
    assert report.labelled_rows == 150
    assert report.accuracy == pytest.approx(float((predicted == np.array(truth[::2])).mean()))


def test_alerts_on_floors_and_ood_and_none_below_min_rows(shop_bundle: Any,
                                                        tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    frame = population(400, 41, shift=3.0)  # far outside training: OOD, drift, wrong answers
    write_log(path, shop_bundle, frame)
    conn = prediction_log.connect(path)
    prediction_log.add_error(conn, status=422, kind="bundle", request_id="bad", ts=START + 5)
    conn.close()
    spec = MonitorSpec(accuracy_floor=0.9, estimated_accuracy_floor=0.99, ood_rate_ceiling=0.01)
    report = check(shop_bundle, path, spec=spec)
    kinds = {a.kind for a in report.alerts}
    assert kinds == {"drift", "accuracy", "estimated_accuracy", "ood_rate"}
    assert report.operations["errors"] == 1
    drift = next(a for a in report.alerts if a.kind == "drift" and a.feature == "x1")
    assert drift.window == report.window and drift.threshold > 0 and "x1" in drift.message
    quiet = check(shop_bundle, path, spec=spec.model_copy(update={"min_window_rows": 1000}))
    assert quiet.alerts == [] and quiet.drift_detected and "min_window_rows" in quiet.notes[0]


def test_report_contract_for_retrain(shop_bundle: Any, calm_log: tuple[Path, Any]) -> None:
    report = check(str(shop_bundle.path), str(calm_log[0]), since=START + 3900)
    assert isinstance(report, MonitorReport)
    assert report.rows == 100 and isinstance(report.drift_detected, bool)
    assert report.labelled_rows == 100 and report.accuracy is not None
    assert {"alerts", "drift_detected", "rows", "labelled_rows", "performance"} <= set(
        report.to_dict())


def test_empty_window_and_bad_logs(shop_bundle: Any, calm_log: tuple[Path, Any],
                                   tmp_path: Path) -> None:
    empty = check(shop_bundle, calm_log[0], since=START + 10**6)
    assert empty.rows == 0 and empty.drift == [] and empty.accuracy is None
    with pytest.raises(DataError, match="no such file"):
        check(shop_bundle, tmp_path / "missing.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(DataError, match="not a kiln prediction log"):
        check(shop_bundle, junk)
    with pytest.raises(DataError, match="request_id"):
        bad = tmp_path / "labels.csv"
        bad.write_text("id,truth\nr1,low\n")
        check(shop_bundle, calm_log[0], labels=bad)
