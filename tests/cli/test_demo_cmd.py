"""`kiln demo` end to end: the README's main job, on the bundled digits example."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

KilnCli = Callable[..., tuple[int, str, str]]



@pytest.mark.slow
def test_demo_runs_the_whole_chain_and_registers_a_champion(kiln_cli: KilnCli,
                                                            kiln_home: Path) -> None:
    code, out, err = kiln_cli("demo", "--epochs", "3", "--json")
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert {d["blueprint"] for d in summary["designs"]} >= {"digits_cnn.yaml",
                                                            "breast_cancer_mlp.yaml"}
    assert summary["test"]["accuracy"] > 0.5
    bundle = Path(summary["bundle"])
    assert bundle.is_relative_to(kiln_home) and (bundle / "manifest.json").is_file()
    assert Path(summary["report"]).is_file()

    from kiln import bundle as bundle_format
    from kiln.registry import bundle_path, list_versions

    assert bundle_format.load(bundle).variant == summary["variant"]
    versions = list_versions(summary["model"])
    assert [v.aliases for v in versions if v.version == summary["version"]] == [["champion"]]
    assert (bundle_path(summary["model"], "champion") / "manifest.json").is_file()
