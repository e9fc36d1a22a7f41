from __future__ import annotations

import pytest

from kiln import prediction_log as plog
from kiln.errors import DataError


def _rows(request_id: str, n: int, ts: float) -> list[tuple]:
    return [plog.row(request_id=request_id, record=i, model="m", version="1",
                     inputs={"x": float(i)}, outputs={"y": {"label": "a"}}, prediction="a",
                     confidence=0.9, ood=[], latency_ms=1.5, ts=ts) for i in range(n)]


def test_append_read_and_join_feedback(tmp_path):
    conn = plog.connect(tmp_path / "log.db")
    assert plog.append(conn, _rows("r1", 2, 10.0) + _rows("r2", 1, 20.0)) == 3
    assert plog.add_feedback(conn, "r1", ["a", 1.0])
    assert not plog.add_feedback(conn, "nope", ["a"])
    got = list(plog.read(conn))
    assert [(g.request_id, g.record, g.label) for g in got] == [
        ("r1", 0, "a"), ("r1", 1, "1"), ("r2", 0, None)]
    assert got[0].inputs == {"x": 0.0} and got[0].ood == []
    assert plog.count(conn, since=15.0) == 1


def test_feedback_must_match_the_number_of_records(tmp_path):
    conn = plog.connect(tmp_path / "log.db")
    plog.append(conn, _rows("r1", 2, 1.0))
    with pytest.raises(DataError, match="1 labels for 2 records"):
        plog.add_feedback(conn, "r1", ["a"])


def test_missing_or_foreign_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        plog.connect(tmp_path / "none.db", create=False)
    bad = tmp_path / "bad.db"
    bad.write_text("not sqlite at all " * 100)
    with pytest.raises(DataError, match="not a kiln prediction log"):
        plog.connect(bad, create=False)
