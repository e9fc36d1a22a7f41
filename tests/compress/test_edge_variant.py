"""The ExecuTorch edge variant: built, parity-checked through ExecuTorch's runtime, measured
beside the ONNX variants, never selected or bundled; skipped with a reason without it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from test_compress_stage import FAST, copy_run

from kiln.compress import VARIANTS_FILE, compress
from kiln.compress import edge as edge_module
from kiln.compress.edge import ExecuTorchMissing
from kiln.train import load_run


@pytest.mark.slow
def test_the_pte_variant_is_measured_but_never_selected(
        digits_run_dir: Path, tmp_path: Path,
        kiln_cli: Callable[..., tuple[int, str, str]]) -> None:
    pytest.importorskip("executorch.runtime")
    run = load_run(copy_run(digits_run_dir, tmp_path))
    result = compress(run, tracking=False, timing_budget_s=FAST, executorch=True)
    assert [v.name for v in result.variants] == ["fp32", "int8-dynamic", "int8", "executorch"]
    edge = result.variant("executorch")
    assert edge.path == "variants/executorch/model.pte"
    assert result.path("executorch").read_bytes()[4:8] == b"ET12"  # ExecuTorch flatbuffer id
    parity = edge.details["parity"]
    assert parity["ok"] and max(parity["max_abs_diff"].values()) <= 1e-4
    assert edge.agreement == 1.0 and edge.delta == 0.0
    assert edge.size_bytes > 0 and edge.latency_ms["p50"] > 0 and edge.throughput_per_s > 0
    assert not edge.selectable and "never selected" in edge.note
    assert result.selected != "executorch"
    table = json.loads((run.dir / "variants" / VARIANTS_FILE).read_text())
    assert table["settings"]["executorch"] is True and table["settings"]["skipped"] == {}
    code, out, err = kiln_cli("export", str(run.dir), "--variant", "executorch", "--output",
                              str(tmp_path / "bundle"))
    assert code != 0 and "not ONNX" in out + err and "Traceback" not in out + err


def test_without_executorch_the_variant_is_skipped_with_the_reason(
        digits_run_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        kiln_cli: Callable[..., tuple[int, str, str]]) -> None:
    def missing() -> None:
        raise ExecuTorchMissing("the executorch variant needs the ExecuTorch package "
                                "(executorch) — pip install 'kiln[edge]'")

    monkeypatch.setattr(edge_module, "require_executorch", missing)
    run_dir = copy_run(digits_run_dir, tmp_path)
    code, out, err = kiln_cli("compress", str(run_dir), "--executorch", "--json")
    assert code == 0, out + err
    table = json.loads(out.strip().splitlines()[-1])
    assert "executorch" not in [v["name"] for v in table["variants"]]
    assert "pip install 'kiln[edge]'" in table["settings"]["skipped"]["executorch"]
    assert "skipped" in out and "kiln[edge]" in out
