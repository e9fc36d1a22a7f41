"""Checkpoints: everything needed to continue a run exactly where it stopped.

A checkpoint holds tensors and plain containers only (loaded with `weights_only=True`):
model, optimizer, scheduler and AMP-scaler state, early-stopping state, best weights,
history, epoch, and every random state (torch, CUDA, NumPy, Python, the batch generator,
the augmentation generator). It is written to a temp file and renamed; its SHA-256 goes to
`last.pt.sha256` and is verified before loading.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import time
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kiln.errors import RunError
from kiln.files import atomic_write_bytes, atomic_write_text, sha256_file

CHECKPOINT = "last.pt"


def serialize(payload: dict[str, Any]) -> bytes:
    """The checkpoint as bytes: one in-memory `torch.save` (many small file writes cost
    more than the whole serialisation), which also snapshots the live tensors."""
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def write_checkpoint(directory: Path, data: bytes) -> Path:
    """Write serialised checkpoint bytes and their checksum atomically. Hashing and writing
    release the GIL, so on the writer thread this hardly competes with training."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CHECKPOINT
    digest = hashlib.sha256(data).hexdigest()
    atomic_write_bytes(path, data, durable=False)  # see atomic_write_bytes on fsync
    atomic_write_text(directory / f"{CHECKPOINT}.sha256", f"{digest}  {CHECKPOINT}\n",
                      durable=False)
    return path


def save_checkpoint(directory: Path, payload: dict[str, Any]) -> Path:
    """Write `directory/last.pt` and its checksum atomically; return the checkpoint path."""
    return write_checkpoint(directory, serialize(payload))


def snapshot(value: Any) -> Any:
    """A copy of a checkpoint payload that later training steps cannot change: every
    tensor copied to host memory, every container rebuilt; other leaves (numbers, strings)
    are immutable and shared."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {k: snapshot(v) for k, v in value.items()}
    if isinstance(value, list):
        return [snapshot(v) for v in value]
    if isinstance(value, tuple):
        return tuple(snapshot(v) for v in value)
    return value


def serialize_and_write(directory: Path, payload: dict[str, Any]) -> Path:
    return write_checkpoint(directory, serialize(payload))


def _timed_write(directory: Path, payload: dict[str, Any]) -> float:
    started = time.perf_counter()
    serialize_and_write(directory, payload)
    return time.perf_counter() - started


# `checkpoint_every: auto` writes when the training since the last write took at least this
# many times the write's own cost: checkpoints then cost ≤ ~1 % of the time (measured with
# benchmarks/train_overhead.py: every epoch cost the digits CNN 7–10 % at 2 threads).
AUTO_BUDGET = 100.0


class CheckpointWriter:
    """Snapshots each checkpoint on the training thread (a copy of its tensors: ~0.2 ms for
    the digits CNN) and serialises, hashes and writes it on one background thread, so the
    training thread pays for the copy only; at most one write is in flight, and `close`
    waits for the last one. (Serialising on the training thread cost ~2.5 ms an epoch,
    measured in BENCHMARKS.md.)"""

    def __init__(self, directory: Path, every: int | str = 1) -> None:
        self.directory = directory
        self.every = every
        self.cost = 0.0  # seconds the last finished write took on the writer thread
        self.epochs = 0  # epoch-end states seen
        self._last_write = time.perf_counter()
        self._held: dict[str, Any] | None = None  # the last epoch's state, not yet written
        self._worker: ThreadPoolExecutor | None = None
        self._pending: Future[float] | None = None

    def submit(self, payload: dict[str, Any], *, final: bool = False) -> None:
        """Take an epoch-end state; write it now if it is due (`final`: always)."""
        frozen = snapshot(payload)
        self.epochs += 1
        if not (final or self.due()):
            self._held = frozen  # written by `flush` if the run is interrupted
            return
        self._write(frozen)

    def due(self) -> bool:
        """`every` N epochs; `auto`: the first epoch, then whenever the training since the
        last write took at least `AUTO_BUDGET` × what the last write cost."""
        if self.every != "auto":
            return self.epochs % int(self.every) == 0
        if self._pending is not None and self._pending.done():
            self.cost = self._pending.result()
        return (self.epochs == 1
                or time.perf_counter() - self._last_write >= AUTO_BUDGET * self.cost)

    def flush(self) -> None:
        """Write the last epoch's state if it was only held (an interrupted run)."""
        if self._held is not None:
            self._write(self._held)

    def _write(self, frozen: dict[str, Any]) -> None:
        self._held = None
        self.wait()
        if self._worker is None:
            self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kiln-ckpt")
        self._last_write = time.perf_counter()
        self._pending = self._worker.submit(_timed_write, self.directory, frozen)

    def wait(self) -> None:
        """Block until the last submitted checkpoint is on disk; re-raise its error."""
        pending, self._pending = self._pending, None
        if pending is not None:
            self.cost = pending.result()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            if self._worker is not None:
                self._worker.shutdown()
                self._worker = None


def load_checkpoint(directory: Path) -> dict[str, Any]:
    """Verify the checksum, then load with `weights_only=True`. Raises `RunError`."""
    path = directory / CHECKPOINT
    sums = directory / f"{CHECKPOINT}.sha256"
    if not path.exists() or not sums.exists():
        raise RunError(f"{path}: no checkpoint to resume from — the run stopped before its "
                       f"first epoch ended; start it again with `kiln train BLUEPRINT`")
    text = sums.read_text(encoding="utf-8").split()
    expected = text[0] if text else ""
    if sha256_file(path) != expected:
        raise RunError(f"{path}: checksum mismatch against {sums.name} — the checkpoint is "
                       f"damaged or was modified; it cannot be resumed, train the run again")
    try:
        payload: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # a checkpoint that passes its checksum but not the loader
        raise RunError(f"{path}: unreadable checkpoint ({type(exc).__name__}: {exc})") from None
    return payload


def capture_rng(generator: torch.Generator, augment_rng: np.random.Generator) -> dict[str, Any]:
    """Every random state as tensors and JSON strings (what `weights_only` accepts)."""
    legacy = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "batches": generator.get_state(),
        "python": json.dumps(_jsonable(random.getstate())),
        "numpy": json.dumps(_jsonable(legacy)),
        "augment": json.dumps(augment_rng.bit_generator.state),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any], generator: torch.Generator,
                augment_rng: np.random.Generator) -> None:
    torch.set_rng_state(state["torch"])
    generator.set_state(state["batches"])
    version, internal, gauss = json.loads(state["python"])
    random.setstate((version, tuple(internal), gauss))
    name, keys, pos, has_gauss, cached = json.loads(state["numpy"])
    np.random.set_state((name, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    augment_rng.bit_generator.state = json.loads(state["augment"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
