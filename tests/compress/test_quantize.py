"""Dynamic and static int8 with ONNX Runtime: they run, stay close, and really shrink."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from kiln.compress import export_onnx, ort_session, run_onnx
from kiln.compress.compact import compact_file
from kiln.compress.quantize import (
    ArrayCalibrationReader,
    quantize_dynamic_int8,
    quantize_static_int8,
    sample_rows,
)
from kiln.errors import KilnError
from kiln.train import load_run


@pytest.fixture(scope="module")
def fp32(digits_run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    run = load_run(digits_run_dir)
    path = export_onnx(run.load_model(), run.signature, tmp_path_factory.mktemp("q") / "m.onnx")
    compact_file(path)
    return path, {"train": run.data().train, "test": run.data().test}


def predictions(path: Path, inputs: dict[str, np.ndarray]) -> np.ndarray:
    return run_onnx(ort_session(path, 1), inputs)["label"].argmax(axis=1)


def ops(path: Path) -> set[str]:
    return {node.op_type for node in onnx.load(str(path)).graph.node}


def test_dynamic_int8_is_smaller_and_agrees(fp32: tuple[Path, dict], tmp_path: Path) -> None:
    path, data = fp32
    out = compact_file(quantize_dynamic_int8(path, tmp_path / "dyn.onnx"))
    assert path.stat().st_size / out.stat().st_size >= 3.5
    assert ops(out) & {"ConvInteger", "MatMulInteger", "DynamicQuantizeLinear"}
    test = data["test"].inputs
    assert np.mean(predictions(out, test) == predictions(path, test)) >= 0.97


@pytest.mark.parametrize("per_channel", [False, True])
def test_static_int8_qdq_is_calibrated_smaller_and_agrees(
        fp32: tuple[Path, dict], tmp_path: Path, per_channel: bool) -> None:
    path, data = fp32
    out = quantize_static_int8(path, tmp_path / "static.onnx", data["train"].inputs,
                               per_channel=per_channel, rows=128)
    compact_file(out)
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops(out)
    assert path.stat().st_size / out.stat().st_size >= 3.3
    test = data["test"].inputs
    assert np.mean(predictions(out, test) == predictions(path, test)) >= 0.97
    assert [o.name for o in onnx.load(str(out)).graph.output] == ["label"]
    batch = run_onnx(ort_session(out, 1), {"image": test["image"][:3]})["label"]
    assert batch.shape == (3, 10)  # the batch axis stays dynamic


def test_calibration_reader_and_sample() -> None:
    inputs = {"x": np.arange(100, dtype=np.float64).reshape(50, 2),
              "ids": np.arange(50, dtype=np.int32)}
    sample = sample_rows(inputs, 20, seed=1)
    assert len(sample["x"]) == 20
    assert np.array_equal(sample["x"][:, 0] / 2, sample["ids"])  # the same rows everywhere
    reader = ArrayCalibrationReader(sample, batch_size=8)
    batches = list(reader)
    assert [len(b["x"]) for b in batches] == [8, 8, 4]
    assert batches[0]["x"].dtype == np.float32 and batches[0]["ids"].dtype == np.int64
    assert reader.get_next() is None
    reader.rewind()
    assert reader.get_next() is not None
    with pytest.raises(KilnError, match="calibration rows"):
        sample_rows({"x": np.zeros((0, 2))}, 10)
