"""Where training runs and at what precision: device choice, mixed precision, host → device
copies.

    training.device   chosen device
    auto              cuda when a CUDA GPU is visible, else mps (Apple GPU), else cpu
    cuda / mps        that device; a clear error when it is not there
    cpu               the CPU

Mixed precision (`training.amp: true`) applies on CUDA only: bfloat16 autocast where the GPU
supports it (Ampere and later: float32's range, so no loss scaling), else float16 autocast
with `torch.amp.GradScaler`. On CPU and MPS training stays in float32 (CPU autocast is
slower than float32 on most CPUs; MPS autocast is too young to be a default).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import torch

from kiln.errors import BlueprintError

DEVICES = ("auto", "cpu", "cuda", "mps")


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def resolve_device(wanted: str) -> torch.device:
    """`training.device` → a torch device. Raises `BlueprintError` when `cuda` or `mps` is
    asked for on a machine without it."""
    if wanted == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if mps_available() else torch.device("cpu")
    if wanted == "cuda" and not torch.cuda.is_available():
        raise BlueprintError("training.device: cuda, but PyTorch sees no CUDA GPU here "
                             f"(torch {torch.__version__}, CUDA build "
                             f"{torch.version.cuda or 'none'}) — install a CUDA build of "
                             "torch, or set training.device: auto", where="training.device")
    if wanted == "mps" and not mps_available():
        raise BlueprintError("training.device: mps, but the Apple GPU backend is not "
                             "available here — set training.device: auto or cpu",
                             where="training.device")
    if wanted not in DEVICES:
        raise BlueprintError(f"training.device: {wanted!r} is not one of {list(DEVICES)}",
                             where="training.device")
    return torch.device(wanted)


@dataclass(frozen=True)
class Precision:
    """The autocast dtype of a training step (None: float32) and whether the loss is
    scaled (float16 only: its narrow range underflows small gradients)."""

    dtype: torch.dtype | None = None
    scaled: bool = False

    @property
    def name(self) -> str:
        return {None: "float32", torch.bfloat16: "bfloat16",
                torch.float16: "float16"}.get(self.dtype, str(self.dtype))

    def autocast(self, device: torch.device) -> contextlib.AbstractContextManager[object]:
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=self.dtype)


def choose_precision(device: torch.device, amp: bool) -> Precision:
    """bfloat16 on a CUDA GPU that supports it, float16 + loss scaling on an older one,
    float32 elsewhere or with `amp: false`."""
    if not amp or device.type != "cuda":
        return Precision()
    if torch.cuda.is_bf16_supported():
        return Precision(torch.bfloat16, scaled=False)
    return Precision(torch.float16, scaled=True)


def host_to_device(array: np.ndarray | torch.Tensor, device: torch.device) -> torch.Tensor:
    """A host array on `device`. To a CUDA GPU the copy goes through pinned (page-locked)
    memory and does not block the host, so it overlaps with queued GPU work; kernels that
    use the tensor are ordered after the copy on the same stream."""
    tensor = torch.as_tensor(np.ascontiguousarray(array) if isinstance(array, np.ndarray)
                             else array)
    if device.type != "cuda":
        return tensor.to(device)
    if tensor.device.type == "cpu":
        tensor = tensor.pin_memory()
    return tensor.to(device, non_blocking=True)

