"""Retrain records: atomic JSON under $KILN_HOME/retrain, pending and decided ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiln.retrain import record as records


def _record(rid: str, status: str, *, until: float | None, at: float,
            model: str = "rule") -> dict[str, Any]:
    return {"id": rid, "model": model, "status": status, "started_at": at,
            "decided_at": at + 1 if status == "decided" else None,
            "trigger": {"until": until}}


def test_pending_and_the_watermark_across_records(kiln_home: Path) -> None:
    assert records.last_decided("rule") is None and records.pending_record("rule") is None
    records.save_record(_record("a", "decided", until=100.0, at=1.0))
    records.save_record(_record("b", "decided", until=None, at=2.0))  # a --new-data retrain
    records.save_record(_record("c", "failed", until=300.0, at=3.0))
    records.save_record(_record("d", "challenger", until=200.0, at=4.0))
    records.save_record(_record("e", "decided", until=900.0, at=5.0, model="other"))
    (kiln_home / "retrain" / "stray.json").write_text("not json")
    last = records.last_decided("rule")
    assert last == {"trigger": {"until": 100.0}, "decided_at": 3.0}
    pending = records.pending_record("rule")
    assert pending is not None and pending["id"] == "d"
    assert records.load_record("a") == {"format": 1, **_record("a", "decided", until=100.0,
                                                                   at=1.0)}
    assert [r["id"] for r in records.model_records("rule")] == ["a", "b", "c", "d"]
