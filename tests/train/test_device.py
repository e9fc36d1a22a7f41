"""Device choice, mixed-precision choice and host → device copies (`kiln.train.device`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from train_helpers import load_tiny

from kiln.errors import BlueprintError
from kiln.train import train
from kiln.train.device import Precision, choose_precision, host_to_device, resolve_device
from kiln.train.loop import select_device

needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU")


def test_auto_picks_the_best_device_present(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("kiln.train.device.mps_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")
    monkeypatch.setattr("kiln.train.device.mps_available", lambda: True)
    assert resolve_device("auto") == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cpu") == torch.device("cpu")


def test_asking_for_a_missing_gpu_is_a_blueprint_error(monkeypatch: pytest.MonkeyPatch,
                                                       tmp_path: Path) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr("kiln.train.device.mps_available", lambda: False)
    with pytest.raises(BlueprintError, match=r"training.device: cuda.*no CUDA GPU") as caught:
        resolve_device("cuda")
    assert caught.value.where == "training.device"
    with pytest.raises(BlueprintError, match=r"training.device: mps"):
        resolve_device("mps")
    blueprint = load_tiny(tmp_path, device="cuda")
    with pytest.raises(BlueprintError, match=r"training\.device"):
        select_device(blueprint)


def test_precision_bf16_where_supported_else_fp16_with_scaling(
        monkeypatch: pytest.MonkeyPatch) -> None:
    cuda = torch.device("cuda")
    assert choose_precision(torch.device("cpu"), amp=True) == Precision()
    assert choose_precision(cuda, amp=False) == Precision()
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: True)
    assert choose_precision(cuda, amp=True) == Precision(torch.bfloat16, scaled=False)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    fp16 = choose_precision(cuda, amp=True)
    assert fp16 == Precision(torch.float16, scaled=True)
    assert fp16.name == "float16" and Precision().name == "float32"


def test_host_to_device_on_cpu_keeps_the_values() -> None:
    array = np.arange(12, dtype=np.float32).reshape(3, 4)[:, ::2]  # not contiguous
    tensor = host_to_device(array, torch.device("cpu"))
    assert tensor.device.type == "cpu"
    np.testing.assert_array_equal(tensor.numpy(), array)


@needs_cuda
@pytest.mark.cuda
def test_host_to_device_pins_and_copies_to_cuda() -> None:
    array = np.random.default_rng(0).normal(size=(64, 8)).astype(np.float32)
    tensor = host_to_device(array, torch.device("cuda"))
    assert tensor.is_cuda
    np.testing.assert_array_equal(tensor.cpu().numpy(), array)


@needs_cuda
@pytest.mark.cuda
@pytest.mark.parametrize("amp", [True, False])
def test_training_on_cuda_finishes_with_finite_weights(tmp_path: Path, amp: bool) -> None:
    blueprint = load_tiny(tmp_path, device="auto", amp=amp, epochs=3)
    run = train(blueprint, quiet=True, tracking=False)
    assert run.status == "finished"
    assert run.metrics["test"]["accuracy"] > 0.5
    model = run.load_model()
    assert all(torch.isfinite(p).all() for p in model.parameters())
