"""`kiln init` from the command line: writes a blueprint that `kiln design` accepts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kiln.cli import main

KILN = str(Path(sys.executable).with_name("kiln"))


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KILN, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_init_then_design(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    pd.DataFrame({"x": rng.normal(size=80), "colour": rng.choice(["r", "g", "b"], 80),
                  "y": rng.choice(["a", "b", "c"], 80)}).to_csv(tmp_path / "t.csv", index=False)
    done = run("init", "--data", "t.csv", "--target", "y", "-o", "bp.yaml", "--json",
               cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["task"] == {"y": "classification"}
    assert {c["column"]: c["type"] for c in summary["columns"]} == {
        "x": "numeric", "colour": "categorical", "y": None}
    designed = run("design", "bp.yaml", "--json", "--no-latency", cwd=tmp_path)
    assert designed.returncode == 0, designed.stderr
    assert json.loads(designed.stdout.strip().splitlines()[-1])["ok"] is True

    again = run("init", "--data", "t.csv", "--target", "y", "-o", "bp.yaml", cwd=tmp_path)
    assert again.returncode == 2
    assert "already exists" in again.stderr and "--force" in again.stderr
    assert "Traceback" not in again.stderr


def test_force_overwrites(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"x": np.arange(40) * 0.5, "y": ["a", "b"] * 20}).to_csv("t.csv", index=False)
    Path("bp.yaml").write_text("old")
    with pytest.raises(SystemExit) as done:
        main(["init", "-d", "t.csv", "-t", "y", "-o", "bp.yaml", "--force"])
    assert done.value.code == 0
    assert "wrote bp.yaml" in capsys.readouterr().out
    assert Path("bp.yaml").read_text().startswith("# Starter blueprint")


def test_init_errors_are_one_line(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("a,label\n1,x\n2,y\n")
    for args, expected in [
        (("--data", "missing.csv", "--target", "label"), "no such file"),
        (("--data", "t.csv", "--target", "labl"), 'did you mean "label"'),
    ]:
        done = run("init", *args, cwd=tmp_path)
        assert done.returncode == 2
        assert expected in done.stderr
        assert done.stderr.startswith("error:") and "Traceback" not in done.stderr


def test_seed_is_written_and_a_bad_one_is_refused(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from kiln.blueprint import load_blueprint
    from kiln.errors import KilnError
    from kiln.scaffold import scaffold

    monkeypatch.chdir(tmp_path)
    pd.DataFrame({"x": np.arange(40) * 0.5, "y": ["a", "b"] * 20}).to_csv("t.csv", index=False)
    with pytest.raises(SystemExit) as done:
        main(["init", "-d", "t.csv", "-t", "y", "-o", "bp.yaml", "--seed", "7"])
    assert done.value.code == 0
    assert load_blueprint(tmp_path / "bp.yaml").seed == 7
    with pytest.raises(SystemExit) as refused:
        main(["init", "-d", "t.csv", "-t", "y", "-o", "other.yaml", "--seed", "-1"])
    assert refused.value.code == 2
    assert "--seed" in capsys.readouterr().err and not Path("other.yaml").exists()
    with pytest.raises(KilnError, match=r"seed: 1\.5 is not a whole number"):
        scaffold("t.csv", "y", seed=1.5)  # type: ignore[arg-type]
