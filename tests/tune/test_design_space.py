"""`kiln design` on a search blueprint: smallest, default-choice and largest model of the
space, each checked against the budgets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kiln.cli import main
from kiln.tune.design_space import default_value, design_space
from kiln.tune.space import Distribution

SEARCH = """\
name: spaced
task: {type: classification, target: label, num_classes: 3}
data:
  source: sklearn:iris
  features:
    - {name: a, type: numeric}
    - {name: b, type: numeric}
architecture:
  trunk:
    - linear: {units: {tune: choice, name: width, values: [16, 8, 64]}}
    - relu
    - repeat:
        times: {tune: int, name: depth, low: 1, high: 3}
        blocks: [{linear: {units: 16}}, relu]
training:
  lr: {tune: float, name: lr, low: 1.0e-4, high: 1.0e-2, log: true}
budgets:
  max_params: LIMIT
"""


def params(width: int, depth: int) -> int:
    first = 2 * width + width
    inner = (width * 16 + 16) + (depth - 1) * (16 * 16 + 16)
    return first + inner + 16 * 3 + 3


def test_default_value_is_first_choice_or_middle() -> None:
    assert default_value(Distribution("p", "choice", "c", values=(3, 1),
                                      labels=(3, 1))) == 3
    assert default_value(Distribution("p", "int", "d", low=1, high=3)) == 2
    assert default_value(Distribution("p", "float", "lr", low=1e-4, high=1e-2,
                                      log=True)) == pytest.approx(1e-3)


def test_smallest_default_and_largest(tmp_path: Path) -> None:
    path = tmp_path / "search.yaml"
    path.write_text(SEARCH.replace("LIMIT", str(params(16, 2) + 1)))
    result = design_space(path, measure=False)
    sizes = {key: report.params for key, report in result.reports.items()}
    assert sizes == {"smallest": params(8, 1), "default": params(16, 2),
                     "largest": params(64, 3)}
    assert "width=16" in result.picks["default"] and "depth=2" in result.picks["default"]
    assert result.ok and not result.reports["largest"].ok
    assert result.notes == ["the largest model breaks max_params"]


def test_cli_exits_1_when_even_the_smallest_is_over(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "search.yaml"
    path.write_text(SEARCH.replace("LIMIT", "50"))
    with pytest.raises(SystemExit) as exit_info:
        main(["design", str(path), "--no-latency", "--json"])
    assert exit_info.value.code == 1
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["search_space"] and report["ok"] is False
    assert set(report["models"]) == {"smallest", "default", "largest"}
    path.write_text(SEARCH.replace("LIMIT", "100000"))
    with pytest.raises(SystemExit) as exit_info:
        main(["design", str(path), "--no-latency"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "default: width=16, depth=2, lr=0.001" in out
    assert "smallest: width=8, depth=1" in out
