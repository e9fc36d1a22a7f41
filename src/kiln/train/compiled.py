"""`training.compile: true`: the training step's forward runs through `torch.compile`, and
falls back to eager PyTorch, with a warning, when compiling fails.

torch.compile compiles lazily: the forward graph on the first call (and again when shapes
change, e.g. the last, smaller batch), the backward graph on the first backward. A failure
can therefore surface in the forward or in `loss.backward()`; the loop runs the whole step
through `TrainingForward.attempt`, which retries the step eagerly once compiling has
failed. (The failed attempt may have updated batch-norm statistics and drawn dropout masks
before it failed; the run goes on from there, so a run whose compile failed is not
bit-identical to an eager run. One that compiles is not either: fused kernels round
differently.) Validation, scoring and export always use the eager module, whose parameters
the compiled wrapper shares.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn

T = TypeVar("T")

# torch.compile's default backend (TorchInductor: generated Triton kernels on CUDA, C++ on
# CPU). Tests swap in "aot_eager": the same graph capture without code generation, which on
# a 2-core CPU takes seconds instead of the ~100 s Inductor's first C++ build takes there.
BACKEND: str | Callable[..., Any] = "inductor"


class CompileFallbackWarning(UserWarning):
    """torch.compile failed; training goes on in eager mode."""


class TrainingForward:
    """The module's forward for training steps: compiled (`compile=True`) or eager."""

    def __init__(self, model: nn.Module, *, compile: bool = False,
                 backend: str | Callable[..., Any] | None = None) -> None:
        self.model = model
        self.compiled: Callable[..., Any] | None = None
        self.error: str | None = None  # why compiling failed, once it has
        if compile:
            try:
                self.compiled = torch.compile(model, backend=backend or BACKEND)
            except Exception as exc:  # e.g. an unknown backend, an unsupported platform
                self.fall_back(exc)

    @property
    def is_compiled(self) -> bool:
        return self.compiled is not None

    def __call__(self, *xs: torch.Tensor) -> Any:
        if self.compiled is not None:  # (not `or`: an OptimizedModule has no truth value)
            return self.compiled(*xs)
        return self.model(*xs)

    def attempt(self, step: Callable[[], T]) -> T:
        """Run `step` (which calls this forward); if it fails while compiled, warn, switch
        to eager for the rest of the run and run it again. An eager failure propagates."""
        if self.compiled is None:
            return step()
        try:
            return step()
        except Exception as exc:
            self.fall_back(exc)
        return step()

    def fall_back(self, exc: BaseException) -> None:
        self.compiled = None
        text = " ".join(str(exc).split())  # dynamo's messages span lines
        self.error = f"{type(exc).__name__}: {text[:300]}" if text else type(exc).__name__
        warnings.warn(f"training.compile: torch.compile failed ({self.error}); training "
                      f"goes on in eager mode — set training.compile: false to skip the "
                      f"attempt", CompileFallbackWarning, stacklevel=3)
