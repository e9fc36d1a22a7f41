"""`kiln design` and the CLI's promises: a fast `--help`, `--json`, exit codes, and one red
line (no traceback) for a user's mistake."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kiln.cli import main

ROOT = Path(__file__).resolve().parents[2]
KILN = str(Path(sys.executable).with_name("kiln"))
HEAVY = ("torch", "mlflow", "onnxruntime", "sklearn", "optuna", "pandas", "fastapi")

BLUEPRINT = """\
name: small
task: {type: classification, target: label, num_classes: 3}
data:
  source: sklearn:iris
  features:
    - {name: a, type: numeric}
    - {name: b, type: numeric}
architecture:
  trunk:
    - linear: {units: 16}
    - relu
budgets:
  max_params: LIMIT
"""


def kiln(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KILN, *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_help_imports_no_heavy_library() -> None:
    code = ("import sys\nfrom kiln.cli import main\ntry:\n    main(['--help'])\n"
            "except SystemExit:\n    pass\n"
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    assert "Commands" in done.stdout and "design" in done.stdout
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_design_json_is_the_last_line(tmp_path: Path) -> None:
    path = tmp_path / "bp.yaml"
    path.write_text(BLUEPRINT.replace("LIMIT", "1000"))
    done = kiln("design", str(path), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["ok"] is True and report["params"] == 2 * 16 + 16 + 16 * 3 + 3
    assert [layer["path"] for layer in report["layers"]] == [
        "architecture.combiner", "architecture.trunk[0]", "architecture.trunk[1]",
        "architecture.heads.label.output"]
    assert report["budgets"] == [{"name": "max_params", "limit": 1000, "value": 99,
                                  "ok": True}]
    assert set(report["latency_ms"]) == {"1", "64"} and report["threads"] == 1


def test_over_budget_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bp.yaml"
    path.write_text(BLUEPRINT.replace("LIMIT", "50"))
    done = kiln("design", str(path), "--no-latency")
    assert done.returncode == 1
    assert "over budget" in done.stdout and "max_params: 99 / limit 50" in done.stdout
    with pytest.raises(SystemExit) as exit_info:  # the same, in-process, as JSON
        main(["design", str(path), "--no-latency", "--json"])
    assert exit_info.value.code == 1
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])["ok"] is False


BAD = [
    ("- relu", "- relu6", 'unknown block \'relu6\' — did you mean "relu"?'),
    ("units: 16", "units: -4", "architecture.trunk[0].units (line 10): -4 is not a positive "
                               "integer"),
    ("budgets:", "budget:", "unknown key 'budget' — did you mean \"budgets\"?"),
    ("num_classes: 3}", "num_classes: 3", "YAML syntax error"),
    ("architecture:", "plugins: [missing_plugin.py]\narchitecture:", "does not exist"),
]


def bad_blueprint(folder: Path, old: str, new: str) -> Path:
    path = folder / "bad.yaml"
    path.write_text(BLUEPRINT.replace("LIMIT", "1000").replace(old, new))
    return path


@pytest.mark.parametrize("case", [BAD[0], BAD[3]], ids=["build-time", "load-time"])
def test_a_bad_blueprint_is_one_red_line(tmp_path: Path, case: tuple[str, str, str]) -> None:
    old, new, expected = case
    done = kiln("design", str(bad_blueprint(tmp_path, old, new)), cwd=tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    assert expected in lines[0]


@pytest.mark.parametrize(("old", "new", "expected"), BAD)
def test_every_bad_blueprint_error_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              old: str, new: str, expected: str) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["design", str(bad_blueprint(tmp_path, old, new))])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert captured.out == "" and len(lines) == 1 and lines[0].startswith("error: ")
    assert expected in lines[0]
