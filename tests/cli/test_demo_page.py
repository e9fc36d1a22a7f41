"""The demo's summary page with the default `./kiln-runs` home: relative artifact paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiln.demo.page import render


def test_relative_artifact_paths_become_file_links(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    report = Path("kiln-runs") / "runs" / "r1" / "report.html"
    report.parent.mkdir(parents=True)
    report.write_text("<html></html>")
    page = render({"artifacts": {"report": str(report)}})
    assert f"href='{(tmp_path / report).as_uri()}'" in page
    assert "kiln-runs/runs/r1/report.html" in page
