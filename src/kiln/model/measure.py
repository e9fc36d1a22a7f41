"""Measurements of a built model: parameters, FLOPs per block, CPU latency."""

from __future__ import annotations

import statistics
import time
from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from kiln.model.signature import Signature


def example_batch(signature: Signature, batch_size: int) -> list[torch.Tensor]:
    """A zero batch matching the signature (valid ids for category and token inputs)."""
    return [
        torch.zeros((batch_size, *spec.shape),
                    dtype=torch.int64 if spec.dtype == "int64" else torch.float32)
        for spec in signature.inputs
    ]


def count_params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def flops_by_module(model: nn.Module, batch: list[torch.Tensor]) -> dict[int, int]:
    """FLOPs of one forward pass, keyed by `id(module)` (torch.utils.flop_counter)."""
    model.eval()
    # The fused inference fast path of nn.MultiheadAttention / TransformerEncoderLayer is
    # one opaque op that the counter cannot see; count the plain ops instead.
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(*batch)
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    counts = counter.get_flop_counts()
    prefix = type(model).__name__
    out = {}
    for name, module in model.named_modules():
        key = f"{prefix}.{name}" if name else prefix
        out[id(module)] = int(sum(counts.get(key, {}).values()))
    out[-1] = int(sum(counts.get("Global", {}).values()))
    return out


def measure_latency(model: nn.Module, batch: list[torch.Tensor], *, repeats: int = 30,
                    warmup: int = 5, budget_s: float = 2.0, threads: int | None = 1) -> float:
    """Median wall time (ms) of `model(*batch)` under `torch.inference_mode`.

    Runs with `threads` CPU threads (None: leave PyTorch's setting), restored afterwards.
    One is the default because it is stable: with several, each parallel op of a small model
    waits for its peers, and on a busy machine a 0.1 ms model measured 100-200 ms.
    Stops early once `budget_s` is spent (at least 5 timed repeats), so a big model does not
    hold `kiln design` for long.
    """
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return _median_ms(model, batch, repeats, warmup, budget_s)
    finally:
        torch.set_num_threads(previous)


def _median_ms(model: nn.Module, batch: list[torch.Tensor], repeats: int, warmup: int,
               budget_s: float) -> float:
    model.eval()
    times: list[float] = []
    with torch.inference_mode():
        for _ in range(warmup):
            model(*batch)
        start_all = time.perf_counter()
        for _ in range(repeats):
            start = time.perf_counter()
            model(*batch)
            times.append((time.perf_counter() - start) * 1000)
            if len(times) >= 5 and time.perf_counter() - start_all > budget_s:
                break
    return statistics.median(times)


def environment() -> dict[str, Any]:
    import platform

    return {"threads": torch.get_num_threads(), "torch": torch.__version__,
            "cpu": platform.processor() or platform.machine()}
