"""`export(run)` and the CLI on a really trained (tiny) run, and its compressed variants."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kiln.bundle import load
from kiln.errors import BundleError, RunError
from kiln.export import export

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train"))
from train_helpers import load_tiny


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, Path]:
    """A tiny MLP trained for 4 epochs (no MLflow), compressed; returns (run, its home)."""
    from kiln.compress import compress
    from kiln.train import train

    folder = tmp_path_factory.mktemp("tiny")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KILN_HOME", str(folder / "home"))
        run = train(load_tiny(folder), quiet=True, tracking=False)
        compress(run, tracking=False, timing_budget_s=0.1)
    return run, folder


def raw_test_records(run: Any) -> list[dict[str, Any]]:
    data = run.data()
    with (Path(str(run.blueprint.resolve("table.csv")))).open() as handle:
        rows = list(csv.DictReader(handle))
    return [{k: float(rows[i][k]) for k in "abcd"} for i in data.test.index]


def test_export_predicts_like_the_trained_model(trained: tuple[Any, Path],
                                                tmp_path: Path) -> None:
    from kiln.compress.onnx_export import run_torch

    run, _ = trained
    path = export(run, output=tmp_path / "tiny")
    bundle = load(path)
    assert bundle.manifest["source_run"] == run.id and bundle.manifest["parity"]["ok"]
    assert bundle.metrics["test"] == {k: v for k, v in run.metrics["test"].items()}
    records = raw_test_records(run)
    answers = bundle.predict(records)
    data = run.data()
    logits = run_torch(run.load_model(), data.test.inputs, ["tabular"])[0]
    expected = run.preprocessor.decode({"label": logits})["label"]
    labels = run.preprocessor.labels("label")
    got = np.array([[a["label"]["probabilities"][lab] for lab in labels] for a in answers])
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert [a["label"]["label"] for a in answers] == [labels[i] for i in expected.argmax(1)]
    # the monitor's reference sample and the confidence calibrated on the validation split
    assert bundle.profile["sample"]["rows"] == min(len(data.train), 2000)
    assert sum(bundle.profile["outputs"]["label"]["calibration"]["count"]) == len(data.val)


def test_export_a_compressed_variant_and_refuse_unknown(trained: tuple[Any, Path],
                                                        tmp_path: Path) -> None:
    run, _ = trained
    bundle = load(export(run, variant="int8", output=tmp_path / "int8", zip=True))
    assert bundle.variant == "int8" and bundle.path.suffix == ".zip"
    assert bundle.metrics["variant"]["name"] == "int8"
    assert "agreement" in bundle.metrics["variant"]
    with pytest.raises(BundleError, match=r"no variant 'int4' — did you mean \"int8\"\?"):
        export(run, variant="int4", output=tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_unknown_run_id() -> None:
    with pytest.raises(RunError):
        export("no-such-run", output="nowhere")


def cli(args: list[str], kiln_cli: Callable[..., tuple[int, str, str]]) -> tuple[int, str, str]:
    code, out, err = kiln_cli(*args)
    return code, out, " ".join(err.split())  # Rich wraps long lines


def test_cli_export_verify_info(trained: tuple[Any, Path], tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch,
                                kiln_cli: Callable[..., tuple[int, str, str]]) -> None:
    run, folder = trained
    monkeypatch.setenv("KILN_HOME", str(folder / "home"))
    target = tmp_path / "bundles" / "tiny"
    code, out, _ = cli(["export", run.id[:8], "-o", str(target), "--json"], kiln_cli)
    assert code == 0 and json.loads(out.splitlines()[-1])["provenance"]["source_run"] == run.id
    code, out, _ = cli(["bundle", "verify", str(target)], kiln_cli)
    assert code == 0 and "6 files match the manifest" in " ".join(out.split())
    code, out, _ = cli(["bundle", "info", str(target), "--json"], kiln_cli)
    info = json.loads(out.splitlines()[-1])
    assert code == 0 and [f["name"] for f in info["fields"]] == list("abcd")
    code, out, _ = cli(["bundle", "info", str(target)], kiln_cli)
    assert code == 0 and "variant fp32" in out
    code, _, err = cli(["export", run.id, "-o", str(target)], kiln_cli)
    assert code == 2 and "already exists" in err
    (target / "blueprint.yaml").write_text("tampered: true\n")
    code, _, err = cli(["bundle", "verify", str(target)], kiln_cli)
    assert code == 2 and "blueprint.yaml was modified" in err
    code, _, err = cli(["export", "nope", "-o", str(tmp_path / "n")], kiln_cli)
    assert code == 2 and "nope" in err
