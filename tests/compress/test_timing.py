"""Timing: targets timed together in paired rounds, medians, one thread count for all."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from compress_helpers import random_inputs

from kiln.compress import export_onnx
from kiln.compress.timing import (
    BURST,
    MIN_CALLS,
    THROUGHPUT_BATCH,
    Timer,
    batches,
    measure_all,
    onnx_timer,
    time_interleaved,
    torch_timer,
)
from kiln.model.signature import Signature


def test_targets_are_timed_together_in_alternating_bursts() -> None:
    order: list[str] = []

    def caller(name: str) -> Callable[[Any], object]:
        return lambda feed: order.append(name)

    times = time_interleaved([(caller(name), [0]) for name in "abc"], budget_s=0.0, burst=2)
    sweeps = ["".join(order[k:k + 6]) for k in range(0, len(order), 6)]
    assert sweeps == ["aabbcc", "ccbbaa"] * 2 + ["aabbcc"]  # MIN_CALLS = 10 calls each
    assert [len(t) for t in times] == [MIN_CALLS] * 3


def test_rounds_are_paired_across_targets() -> None:
    order: list[tuple[str, int]] = []

    def fake(name: str) -> Timer:
        return Timer(lambda feed: order.append((name, feed)), [1], [64], threads=1)

    timings = measure_all({"a": fake("a"), "b": fake("b")}, budget_s=0.0, rounds=3)
    timed = order[2 * 2:]  # after the warm-ups: each feed once, up to WARMUP feeds
    per_phase = 2 * max(MIN_CALLS, BURST)
    phases = [{feed for _, feed in timed[k:k + per_phase]}
              for k in range(0, len(timed), per_phase)]
    assert phases == [{1}, {64}] * 3  # each round: batch 1, then batch 64, both targets
    assert all(len(t.p50_rounds_ms) == 3 for t in timings.values())
    assert timings["a"].throughput_per_s > 0


def test_batches_cycle_over_rows() -> None:
    inputs = {"x": np.arange(5)}
    cut = batches(inputs, 3, 3)
    assert [list(b["x"]) for b in cut] == [[0, 1, 2], [3, 4, 0], [1, 2, 3]]


def test_onnx_and_torch_timers(mlp: tuple[Any, Signature], tmp_path: Path) -> None:
    model, signature = mlp
    path = export_onnx(model, signature, tmp_path / "m.onnx")
    inputs = random_inputs(signature, 100)
    threads_before = torch.get_num_threads()
    timers = {"onnx": onnx_timer(path, inputs, threads=1),
              "torch": torch_timer(model, inputs, signature.input_names, threads=1)}
    timings = measure_all(timers, budget_s=0.05, rounds=2)
    for timing in timings.values():
        assert 0 < timing.p50_ms <= timing.p99_ms and timing.threads == 1
        assert timing.throughput_per_s > 0
    assert len(timers["onnx"].batched[0]["tabular"]) == THROUGHPUT_BATCH
    assert torch.get_num_threads() == threads_before  # restored after timing
