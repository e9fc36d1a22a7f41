"""Latency and throughput of a variant: ONNX Runtime or eager PyTorch, same thread count.

Latency is measured on batch-1 requests cut from real test rows (p50 and p99 of single
calls); throughput on batches of 64 rows (64 rows / the median call time). `measure_all`
times every target together: within a round each sweep makes a short burst of calls of
every target in turn (`BURST`, the order reversed every other sweep), so that a machine
that gets busier or quieter affects every variant alike, down to a few milliseconds. On a
shared 2-vCPU box a round's p50 moves by up to 2× from one round to the next, while the
ratio of two targets timed together holds; timed a round at a time (one target, then the
next) the ratio itself moved between 0.7 and 2.4. Each round's own p50, lower quartile and
throughput are kept, paired across targets: variant selection compares them round by round,
and `measure_all(decided=...)` adds rounds (up to `MAX_ROUNDS`) while a comparison is open.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from pathlib import Path

    from torch import nn

LATENCY_BATCH = 1
THROUGHPUT_BATCH = 64
DEFAULT_THREADS = 1  # one intra-op thread: stable numbers, and how a replica usually serves
ROUNDS = 7  # more, shorter rounds (same time in all): a steadier read of the noise
MAX_ROUNDS = 11  # extra rounds while the comparison of two variants is still undecided
WARMUP = 10
MIN_CALLS = 10  # per round and batch size, whatever the time budget
# Calls of one target in a row before the next target's: one call at a time, each model
# evicts the last one's weights from the caches (int8 and fp32 both slowed to ~2× and
# looked equal); 16 in a row kept warm latencies and the pairing (int8/fp32 1.09-1.42
# per round, against 0.73-2.44 timed a whole round at a time).
BURST = 16


@dataclass
class Timing:
    p50_ms: float
    p99_ms: float
    throughput_per_s: float
    threads: int
    p50_rounds_ms: list[float] = field(default_factory=list)  # each round's own p50
    p25_rounds_ms: list[float] = field(default_factory=list)  # ... and lower quartile
    throughput_rounds: list[float] = field(default_factory=list)  # each round's rows/s

    def to_dict(self) -> dict[str, Any]:
        return {"latency_ms": {"p50": self.p50_ms, "p99": self.p99_ms},
                "throughput_per_s": self.throughput_per_s, "threads": self.threads}


@dataclass
class Timer:
    """One target (a session or a model) with its prepared feeds; collects call times."""

    call: Callable[[Any], object]
    single: list[Any]  # batch-1 feeds
    batched: list[Any]  # batch-64 feeds
    threads: int
    wrap: Callable[[], Any] | None = None  # a context entered around every round
    single_rounds: list[list[float]] = field(default_factory=list)  # call times (ms)
    batched_rounds: list[list[float]] = field(default_factory=list)  # per round

    def warm_up(self) -> None:
        with self.context():
            for feed in self.single[:WARMUP] + self.batched[:WARMUP]:
                self.call(feed)

    def record(self, single: list[float], batched: list[float]) -> None:
        """Keep one round's call times (ms) at batch 1 and at batch 64."""
        self.single_rounds.append(single)
        self.batched_rounds.append(batched)

    def result(self) -> Timing:
        single = np.concatenate(self.single_rounds)
        return Timing(p50_ms=float(np.percentile(single, 50)),
                      p99_ms=float(np.percentile(single, 99)),
                      throughput_per_s=per_second(np.concatenate(self.batched_rounds)),
                      threads=self.threads,
                      p50_rounds_ms=[float(np.median(r)) for r in self.single_rounds],
                      p25_rounds_ms=[float(np.percentile(r, 25)) for r in self.single_rounds],
                      throughput_rounds=[per_second(r) for r in self.batched_rounds])

    @contextmanager
    def context(self) -> Iterator[None]:
        """The state the target's calls run in (threads, inference mode), if any."""
        if self.wrap is None:
            yield
        else:
            with self.wrap():
                yield


def per_second(batched_ms: np.ndarray | list[float]) -> float:
    """Rows per second at `THROUGHPUT_BATCH` rows a call: the median call time's rate."""
    return THROUGHPUT_BATCH * 1000 / float(np.median(batched_ms))


def batches(inputs: Mapping[str, np.ndarray], size: int, count: int) -> list[dict[str, np.ndarray]]:
    """`count` batches of `size` rows cut from `inputs` (cycling when rows run out)."""
    rows = len(next(iter(inputs.values())))
    out = []
    for k in range(count):
        pick = (np.arange(size) + k * size) % rows
        out.append({name: np.ascontiguousarray(a[pick]) for name, a in inputs.items()})
    return out


def time_interleaved(targets: list[tuple[Callable[[Any], object], list[Any]]],
                     budget_s: float, burst: int = BURST) -> list[list[float]]:
    """Wall times (ms) of each target's calls, timed together: every sweep makes `burst`
    calls of each `(call, feeds)` in turn, cycling over its feeds, in alternating order
    (first to last, then last to first), for about `budget_s` seconds in all and at least
    `MIN_CALLS` calls per target."""
    times: list[list[float]] = [[] for _ in targets]
    forward = list(range(len(targets)))
    start_all = time.perf_counter()
    k = 0
    while k * burst < MIN_CALLS or time.perf_counter() - start_all < budget_s:
        for i in forward if k % 2 == 0 else forward[::-1]:
            call, feeds = targets[i]
            for j in range(k * burst, (k + 1) * burst):
                feed = feeds[j % len(feeds)]
                start = time.perf_counter()
                call(feed)
                times[i].append((time.perf_counter() - start) * 1000)
        k += 1
    return times


def measure_round(timers: list[Timer], budget_s: float) -> None:
    """One round: batch-1 calls, then batch-64 calls, each timed in alternating bursts
    across all `timers` (`time_interleaved`) for `budget_s / 2` seconds per target."""
    phase_s = budget_s / 2 * len(timers)
    with ExitStack() as stack:
        for timer in timers:
            stack.enter_context(timer.context())
        single = time_interleaved([(t.call, t.single) for t in timers], phase_s)
        batched = time_interleaved([(t.call, t.batched) for t in timers], phase_s)
    for timer, one, many in zip(timers, single, batched, strict=True):
        timer.record(one, many)


def onnx_timer(path: Path | str, inputs: Mapping[str, np.ndarray],
               threads: int = DEFAULT_THREADS, batch: int = THROUGHPUT_BATCH) -> Timer:
    """A timer for the ONNX model at `path` with `threads` intra-op threads."""
    from kiln.compress.onnx_export import as_onnx_type, ort_session

    session = ort_session(path, threads)
    kinds = {i.name: i.type for i in session.get_inputs()}

    def typed(feeds: list[dict[str, np.ndarray]]) -> list[dict[str, np.ndarray]]:
        return [{n: as_onnx_type(f[n], kinds[n]) for n in kinds} for f in feeds]

    def run(feed: dict[str, np.ndarray]) -> object:
        return session.run(None, feed)

    return Timer(run, typed(batches(inputs, LATENCY_BATCH, 256)),
                 typed(batches(inputs, batch, 32)), threads)


def torch_timer(model: nn.Module, inputs: Mapping[str, np.ndarray], names: list[str],
                threads: int = DEFAULT_THREADS) -> Timer:
    """A timer for eager PyTorch under `torch.inference_mode` with `threads` threads."""
    import torch

    def tensors(feeds: list[dict[str, np.ndarray]]) -> list[list[torch.Tensor]]:
        return [[torch.from_numpy(f[n]) for n in names] for f in feeds]

    @contextmanager
    def wrap() -> Iterator[None]:
        with torch_threads(threads), torch.inference_mode():
            yield

    def run(feed: list[torch.Tensor]) -> object:
        return model(*feed)

    model.eval()
    return Timer(run, tensors(batches(inputs, LATENCY_BATCH, 256)),
                 tensors(batches(inputs, THROUGHPUT_BATCH, 32)), threads, wrap)


def measure_all(timers: Mapping[str, Timer], budget_s: float, rounds: int = ROUNDS, *,
                decided: Callable[[dict[str, Timing]], bool] | None = None,
                max_rounds: int = MAX_ROUNDS) -> dict[str, Timing]:
    """Time every target together, call by call, in `rounds` rounds; `budget_s` seconds
    per target in all (both batch sizes, every round). With `decided`, keep adding one round
    while `decided(timings)` is False, up to `max_rounds`. Round k of every target was timed
    over the same seconds: the rounds are paired."""
    for timer in timers.values():
        timer.warm_up()
    done = 0
    while True:
        measure_round(list(timers.values()), budget_s / rounds)
        done += 1
        if done < rounds:
            continue
        timings = {name: timer.result() for name, timer in timers.items()}
        if decided is None or done >= max_rounds or decided(timings):
            return timings


def time_onnx(path: Path | str, inputs: Mapping[str, np.ndarray],
              threads: int = DEFAULT_THREADS, *, budget_s: float = 2.0) -> Timing:
    """ONNX Runtime timing of one model (see `measure_all` to compare several)."""
    return measure_all({"onnx": onnx_timer(path, inputs, threads)}, budget_s)["onnx"]


def time_torch(model: nn.Module, inputs: Mapping[str, np.ndarray], names: list[str],
               threads: int = DEFAULT_THREADS, *, budget_s: float = 2.0) -> Timing:
    """Eager PyTorch timing of one model under inference mode."""
    return measure_all({"torch": torch_timer(model, inputs, names, threads)}, budget_s)["torch"]


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)
