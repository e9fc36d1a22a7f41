"""Torch-side artifacts of a run: the safetensors weights and the environment record."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiln.files import atomic_path

if TYPE_CHECKING:
    from torch import nn


def save_weights(model: nn.Module, path: Path) -> None:
    """The model's state dict as safetensors, written atomically."""
    from safetensors.torch import save_file

    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp))


def environment(device: str) -> dict[str, Any]:
    """Package versions, hardware and thread count, for run.json and tracking tags."""
    import platform
    from importlib import metadata

    import torch

    versions = {"python": platform.python_version()}
    for package in ("kiln", "torch", "numpy", "scikit-learn", "mlflow", "safetensors",
                    "pydantic"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    hardware = {"platform": platform.platform(), "machine": platform.machine(),
                "cpu_count": os.cpu_count(), "device": device}
    if device == "cuda":
        hardware["gpu"] = torch.cuda.get_device_name(0)
    return {"versions": versions, "hardware": hardware, "threads": torch.get_num_threads()}
