"""Triggers on a real prediction log (SQLite, the format `kiln serve` writes)."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from kiln import prediction_log
from kiln.blueprint.retrain_spec import RetrainSpec
from kiln.errors import MissingExtraError
from kiln.retrain.triggers import detect, file_trigger, read_window

T0 = 1_700_000_000.0


def write_log(path: Path, n: int, *, right: float, labelled: float = 1.0,
              confidence: float = 0.9, start: float = T0, model: str = "rule") -> Path:
    """`n` logged predictions one second apart; the first `labelled` share has feedback,
    of which the first `right` share agrees with the prediction."""
    conn = prediction_log.connect(path)
    rows = [prediction_log.row(request_id=f"r{start + i}", record=0, model=model, version="1",
                               inputs={"x0": float(i)}, outputs={}, prediction="pos",
                               confidence=confidence, ood=[], latency_ms=1.0, ts=start + i)
            for i in range(n)]
    prediction_log.append(conn, rows)
    n_labelled = round(labelled * n)
    for i in range(n_labelled):
        label = "pos" if i < round(right * n_labelled) else "neg"
        prediction_log.add_feedback(conn, f"r{start + i}", [label], ts=start + i + 0.5)
    conn.close()
    return path


def policy(**triggers: Any) -> RetrainSpec:
    return RetrainSpec.model_validate({"triggers": triggers})


def test_window_figures_equal_a_direct_count(tmp_path: Path) -> None:
    log = write_log(tmp_path / "p.db", 200, right=0.7, labelled=0.5, confidence=0.8)
    window = read_window(log, "rule", since=None)
    assert (window.rows, window.labelled) == (200, 100)
    assert window.accuracy == pytest.approx(0.7)
    assert window.estimated_accuracy == pytest.approx(0.8)
    assert window.until == T0 + 199


def test_accuracy_floor_fires_with_enough_labels_only(tmp_path: Path) -> None:
    log = write_log(tmp_path / "p.db", 150, right=0.6)
    fired = detect(policy(accuracy_below=0.8), name="rule", log=log, last=None)
    assert fired is not None and fired.kind == "accuracy_below"
    assert "0.6000" in fired.reason and "0.8" in fired.reason
    assert detect(policy(accuracy_below=0.8, min_rows=500), name="rule", log=log,
                  last=None) is None
    assert detect(policy(accuracy_below=0.5), name="rule", log=log, last=None) is None


def test_estimated_accuracy_fires_before_any_label(tmp_path: Path) -> None:
    log = write_log(tmp_path / "p.db", 120, right=1.0, labelled=0.0, confidence=0.55)
    fired = detect(policy(estimated_accuracy_below=0.7), name="rule", log=log, last=None)
    assert fired is not None and fired.kind == "estimated_accuracy_below"


def test_new_rows_count_only_since_the_last_retrain(tmp_path: Path) -> None:
    log = write_log(tmp_path / "p.db", 300, right=1.0)
    spec = policy(new_labelled_rows=200)
    first = detect(spec, name="rule", log=log, last=None)
    assert first is not None and first.kind == "new_labelled_rows"
    assert first.until == T0 + 299
    # the same log seen again gives the same id (idempotency rests on it)
    assert detect(spec, name="rule", log=log, last=None) == first
    last = {"trigger": first.to_dict(), "decided_at": T0 + 400}
    assert detect(spec, name="rule", log=log, last=last) is None
    write_log(log, 250, right=1.0, start=T0 + 1000)
    again = detect(spec, name="rule", log=log, last=last)
    assert again is not None and again.id != first.id
    assert again.details["labelled"] == 250 and again.since == T0 + 299


def test_schedule(tmp_path: Path) -> None:
    spec = policy(every="1h")
    assert detect(spec, name="rule", log=None, last=None, now=T0) is not None
    last = {"trigger": {"until": None}, "decided_at": T0}
    assert detect(spec, name="rule", log=None, last=last, now=T0 + 1800) is None
    fired = detect(spec, name="rule", log=None, last=last, now=T0 + 3600)
    assert fired is not None and fired.kind == "every"


def test_drift_trigger_asks_the_monitor(tmp_path: Path) -> None:
    log = write_log(tmp_path / "p.db", 10, right=1.0)
    seen: list[Any] = []

    def drifted(since: float | None) -> bool:
        seen.append(since)
        return True

    fired = detect(policy(drift=True), name="rule", log=log, last=None, drift_check=drifted)
    assert fired is not None and fired.kind == "drift" and seen == [None]
    assert detect(policy(drift=True), name="rule", log=log, last=None,
                  drift_check=lambda since: False) is None
    with pytest.raises(MissingExtraError):
        detect(policy(drift=True), name="rule", log=log, last=None)


def test_stage_drift_check_calls_kiln_monitor_check(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The stage's drift trigger imports `kiln.monitor.check` lazily and passes the
    champion's bundle, the log and the window; a stand-in module records the call."""
    from kiln.blueprint.schema import Blueprint
    from kiln.retrain import stage

    calls: list[dict[str, Any]] = []
    fake = types.ModuleType("kiln.monitor")

    def check(bundle: Any, log: Any, **kwargs: Any) -> Any:
        calls.append({"bundle": bundle, "log": log, **kwargs})
        return types.SimpleNamespace(drift_detected=True)

    fake.check = check  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "kiln.monitor", fake)
    monkeypatch.setattr("kiln.registry.bundle_path", lambda name, ref: f"{name}@{ref}")
    monkeypatch.setattr("kiln.bundle.load", lambda path: f"loaded {path}")
    bp = Blueprint.model_validate({"task": {"type": "classification", "target": "y"},
                                   "data": {"source": "x.csv"}, "architecture": {}})
    log = tmp_path / "p.db"
    drift_check = stage._drift_check(bp, "rule", log)
    assert drift_check is not None and drift_check(T0) is True
    assert calls == [{"bundle": "loaded rule@champion", "log": log, "since": T0,
                      "until": None, "spec": bp.monitor}]


def test_file_trigger_id_follows_the_content(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("x0,label\n1,pos\n")
    first = file_trigger("rule", a)
    assert file_trigger("rule", a).id == first.id
    assert file_trigger("other", a).id != first.id
    a.write_text("x0,label\n2,pos\n")
    assert file_trigger("rule", a).id != first.id
