"""`compress(run)` end to end on a trained digits CNN, and `kiln compress` on the command line."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import onnx
import pytest
import yaml

from kiln.compress import VARIANTS_FILE, compress, load_variants
from kiln.errors import BudgetError, RunError
from kiln.train import load_run

FAST = 0.05  # seconds of timing per measurement: enough to exercise, not to benchmark


def copy_run(run_dir: Path, tmp_path: Path, **compress_section: object) -> Path:
    """A private copy of the session's run, with a `compress:` section of our choosing."""
    target = tmp_path / run_dir.name
    shutil.copytree(run_dir, target, ignore=shutil.ignore_patterns("variants"))
    blueprint = target / "blueprint.yaml"
    raw = yaml.safe_load(blueprint.read_text())
    raw["compress"] = {"timing_budget_s": FAST, **compress_section}
    blueprint.write_text(yaml.safe_dump(raw, sort_keys=False))
    return target


def test_variants_are_built_measured_and_written(digits_run_dir: Path, tmp_path: Path) -> None:
    run = load_run(copy_run(digits_run_dir, tmp_path))
    result = compress(run, prune=0.5, tracking=False, timing_budget_s=FAST)
    names = [v.name for v in result.variants]
    assert names == ["fp32", "int8-dynamic", "int8", "pruned"]
    table = json.loads((run.dir / "variants" / VARIANTS_FILE).read_text())
    assert table["selected"] == result.selected and table["reason"] == result.reason
    assert set(table["reference"]) >= {"metric", "latency_ms", "throughput_per_s", "threads"}
    for row in table["variants"]:
        assert set(row) >= {"name", "path", "metric", "delta", "agreement", "size_bytes",
                            "latency_ms", "throughput_per_s", "threads", "selectable", "note"}
        path = run.dir / row["path"]
        assert path == run.dir / "variants" / row["name"] / "model.onnx" and path.exists()
        assert row["size_bytes"] == path.stat().st_size and row["threads"] == 1
        assert [i.name for i in onnx.load(str(path)).graph.input] == ["image"]
    fp32 = result.variant("fp32")
    assert fp32.agreement == 1.0 and abs(fp32.delta) < 1e-9
    assert fp32.details["parity"]["ok"]
    for name in ("int8", "int8-dynamic"):
        assert fp32.size_bytes / result.variant(name).size_bytes >= 3.3
        assert result.variant(name).agreement >= 0.95
    pruned = result.variant("pruned")
    assert pruned.details["params_after"] < 0.4 * pruned.details["params_before"]
    assert (run.dir / "variants" / "pruned" / "weights.safetensors").exists()
    assert result.variant(result.selected or "").selectable
    assert load_variants(run).to_dict() == result.to_dict()


def test_budget_no_variant_meets_raises_and_still_writes_the_table(
        digits_run_dir: Path, tmp_path: Path) -> None:
    run = load_run(copy_run(digits_run_dir, tmp_path))
    run.blueprint.budgets.max_size_mb = 0.001  # 1 kB: nothing fits
    with pytest.raises(BudgetError, match=r"max_size_mb: .* over by") as caught:
        compress(run, tracking=False, timing_budget_s=FAST)
    assert caught.value.exit_code == 1
    table = load_variants(run)
    assert table.selected is None and table.budget_error == str(caught.value)


def test_cli_json_table_and_exit_codes(digits_run_dir: Path, tmp_path: Path,
                                       kiln_cli: Callable[..., tuple[int, str, str]]) -> None:
    run_dir = copy_run(digits_run_dir, tmp_path)
    code, out, err = kiln_cli("compress", str(run_dir), "--json", "--threads", "1")
    assert code == 0, err
    payload = json.loads(out.strip().splitlines()[-1])
    assert payload["selected"] in {v["name"] for v in payload["variants"]}
    assert "fp32" in out and "selected" in out

    over = copy_run(digits_run_dir, tmp_path / "over")
    raw = yaml.safe_load((over / "blueprint.yaml").read_text())
    raw["budgets"] = {"max_latency_ms": 1e-6}
    (over / "blueprint.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    code, out, err = kiln_cli("compress", str(over), "--json")
    assert code == 1
    assert "max_latency_ms" in err and "over by" in err
    assert json.loads(out.strip().splitlines()[-1])["selected"] is None

    code, _, err = kiln_cli("compress", "no-such-run")
    assert code == RunError.exit_code and "no run" in err


def test_latency_budget_at_another_batch_size(digits_run_dir: Path, tmp_path: Path) -> None:
    run = load_run(copy_run(digits_run_dir, tmp_path))
    run.blueprint.budgets.max_latency_ms = 1000.0
    run.blueprint.budgets.latency_batch_size = 8
    result = compress(run, tracking=False, timing_budget_s=FAST, threads=1)
    for variant in result.variants:
        assert 0 < variant.details["budget_latency_ms"] < 1000.0


def test_a_failed_compress_keeps_the_previous_variants(digits_run_dir: Path,
                                                       tmp_path: Path) -> None:
    from kiln.errors import BlueprintError

    run = load_run(copy_run(digits_run_dir, tmp_path))
    first = compress(run, tracking=False, timing_budget_s=FAST)
    with pytest.raises(BlueprintError, match="no such student"):
        compress(run, distill=tmp_path / "missing.yaml", tracking=False, timing_budget_s=FAST)
    assert load_variants(run).to_dict() == first.to_dict()
    assert all(first.path(v.name).exists() for v in first.variants)
    assert sorted(p.name for p in run.dir.iterdir() if "variants" in p.name) == ["variants"]
