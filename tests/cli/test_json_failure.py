"""`--json` on failure: whatever the command, the last stdout line is one JSON object
{"error", "kind", "where"} and the exit code is the error's (issue 11, item 5)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

KilnCli = Callable[..., tuple[int, str, str]]


def _last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


def test_bad_blueprint(kiln_cli: KilnCli, tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("name: x\ntask: {type: classification, target: label}\n"
                    "data: {source: sklearn:iris}\n"
                    "architecture:\n  trunk: [{linear: {units: -4}}]\n")
    code, out, err = kiln_cli("design", str(path), "--json")
    failure = _last_json(out)
    assert code == 2 and failure["kind"] == "blueprint"
    assert "units" in failure["error"] and "-4" in failure["error"]
    assert "error:" in err and "Traceback" not in err


def test_missing_file(kiln_cli: KilnCli, tmp_path: Path) -> None:
    code, out, _ = kiln_cli("train", str(tmp_path / "nope.yaml"), "--json")
    failure = _last_json(out)
    assert code != 0 and failure["kind"] == "blueprint" and "nope.yaml" in failure["error"]


def test_failed_data_check(kiln_cli: KilnCli, tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    frame.loc[[3, 9], "a"] = np.inf
    frame["y"] = (frame["b"] > 0).astype(int)
    frame.to_csv(tmp_path / "t.csv", index=False)
    path = tmp_path / "bp.yaml"
    path.write_text("name: t\ntask: {type: classification, target: y}\n"
                    "data: {source: t.csv}\narchitecture: {trunk: [{linear: {units: 8}}]}\n"
                    "training: {epochs: 1}\n")
    code, out, _ = kiln_cli("train", str(path), "--json", "--quiet")
    failure = _last_json(out)
    assert code == 2 and failure["kind"] == "data_checks"
    assert "non-finite" in failure["error"] and "'a'" in failure["error"]
