"""One rank of a DistributedDataParallel run: the process group and the sharded loop.

`kiln train --nproc N` starts N of these processes under torchrun (`kiln.train.launch`);
each runs `kiln.train.ddp_worker`, which builds a `DistributedLoop`. The contract with one
process:

- **Batches.** Every rank draws the same seeded permutation as one process would, cuts it
  into the blueprint's *global* batches, and takes every N-th row of each (`index[rank::N]`):
  a rank's batch is global/N rows, the N shards of a step are exactly the one-process batch,
  and DDP averages the gradients, so the step — and the learning rate — are the
  blueprint's. A global batch too small to give every rank two rows is dropped (the one-row
  rule of one process, per rank: batch normalisation cannot train on one sample).
- **Validation.** The split is cut into N contiguous parts; each rank predicts its part,
  the raw outputs are all-gathered in row order, and every rank scores the whole split with
  the one-process code (`score_raw`, the loss in the same 1024-row chunks). Every rank thus
  sees the same figures, so early stopping and a plateau schedule decide alike everywhere.
- **State.** Parameters and optimizer state are the same on every rank (DDP); batch-norm
  buffers are per rank while training and rank 0's are broadcast before validation, so the
  checkpoint rank 0 writes is what every rank needs to resume.
- **Randomness.** Dropout and augmentation draw from per-(seed, rank, epoch) streams,
  re-seeded each epoch: ranks differ from each other, and a resumed run repeats exactly.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from kiln.errors import DataError, RunError
from kiln.train.compiled import TrainingForward
from kiln.train.inference import predict, score_raw
from kiln.train.loop import Loop

if TYPE_CHECKING:
    from kiln.data.prepared import Split

DEFAULT_TIMEOUT_S = 300
LOSS_CHUNK = 1024  # as `kiln.train.selection.split_loss`: same chunks, same loss


@dataclass(frozen=True)
class Rank:
    """Where this process sits in the job (torchrun's environment variables)."""

    rank: int
    world: int
    local_rank: int

    @classmethod
    def from_env(cls) -> Rank:
        try:
            return cls(int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]),
                       int(os.environ["LOCAL_RANK"]))
        except KeyError as exc:
            raise RunError(f"{exc.args[0]} is not set — a kiln rank is started by torchrun "
                           f"through `kiln train BLUEPRINT --nproc N`") from None

    @property
    def leader(self) -> bool:
        return self.rank == 0


def timeout_s() -> int:
    """Seconds a collective may wait for a missing rank (`KILN_DDP_TIMEOUT`, default 300)."""
    raw = os.environ.get("KILN_DDP_TIMEOUT", str(DEFAULT_TIMEOUT_S))
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise RunError(f"KILN_DDP_TIMEOUT={raw!r} is not a positive number of seconds",
                       where="KILN_DDP_TIMEOUT")
    return value


def rank_device(wanted: torch.device, rank: Rank) -> torch.device:
    """This rank's device: its own GPU (LOCAL_RANK) on CUDA, the CPU otherwise."""
    if wanted.type != "cuda":
        return torch.device("cpu")
    device = torch.device("cuda", rank.local_rank)
    torch.cuda.set_device(device)
    return device


@contextlib.contextmanager
def process_group(device: torch.device) -> Iterator[None]:
    """Join torchrun's process group: NCCL for CUDA, gloo for the CPU; a collective that
    waits longer than `timeout_s()` for a rank fails instead of hanging."""
    import torch.distributed as dist

    backend = "nccl" if device.type == "cuda" else "gloo"
    dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s()),
                            device_id=device if device.type == "cuda" else None)
    try:
        yield
    finally:
        dist.destroy_process_group()


def check_same_data(fingerprint: str, rank: Rank, device: torch.device) -> None:
    """Every rank must have prepared the same data (on several nodes, each reads its own
    copy); raise `DataError` on every rank when one differs."""
    import torch.distributed as dist

    digest = int(hashlib.sha256(fingerprint.encode()).hexdigest()[:15], 16)  # < 2**60
    mine = torch.tensor([digest], dtype=torch.int64, device=device)
    every = [torch.empty_like(mine) for _ in range(rank.world)]
    dist.all_gather(every, mine)
    odd = [r for r, value in enumerate(every) if int(value) != int(every[0])]
    if odd:
        raise DataError(f"rank(s) {odd} prepared other data than rank 0 (the data fingerprint "
                        f"differs) — every node must read the same data source, with the "
                        f"same blueprint; copy the data or put it on shared storage",
                        where="data.source")


class DistributedLoop(Loop):
    """`Loop` for one rank of a DDP job; the module docstring gives the contract."""

    def __init__(self, *args: Any, rank: Rank, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        from torch.nn.parallel import DistributedDataParallel

        self.rank = rank
        self.rows = 0  # rows this rank trained on in the current epoch
        ids = [self.device.index] if self.device.type == "cuda" else None
        # Wraps the model for the training step only; broadcasts rank 0's weights now.
        self.train_module = DistributedDataParallel(self.model, device_ids=ids)
        self.forward = TrainingForward(self.train_module, compile=self.training.compile)

    def run_epoch(self, epoch: int) -> None:
        seed = [self.bp.seed, self.rank.rank, epoch]
        torch.manual_seed(int(np.random.SeedSequence(seed).generate_state(1)[0]))
        self.augment_rng = np.random.default_rng(seed)
        super().run_epoch(epoch)

    def batches(self) -> Iterator[torch.Tensor]:
        world = self.rank.world
        for index in super().batches():  # the one-process global batch
            if len(index) < 2 * world:
                continue
            part = index[self.rank.rank::world]  # (B / N,)
            self.rows += len(part)
            yield part

    def train_epoch(self) -> float:
        """This epoch's mean training loss over every rank's rows."""
        import torch.distributed as dist

        self.rows = 0
        mean = super().train_epoch()
        totals = torch.tensor([mean * self.rows, float(self.rows)], dtype=torch.float64,
                              device=self.device)
        dist.all_reduce(totals)
        return float(totals[0]) / max(float(totals[1]), 1.0)

    def validate(self) -> dict[str, float]:
        """The one-process validation figures, from outputs gathered across the ranks."""
        import torch.distributed as dist

        for buffer in self.model.buffers():  # rank 0's batch-norm statistics everywhere
            dist.broadcast(buffer, 0)
        split = self.data.val if len(self.data.val) else self.data.train
        raw = self.gather_outputs(split)
        val = score_raw(raw, split.targets, self.data.preprocessor, self.data.signature,
                        self.bp.task)
        val["loss"] = self.outputs_loss(raw, split)
        return val

    def gather_outputs(self, split: Split) -> dict[str, np.ndarray]:
        """Raw outputs of the whole split, in row order, on every rank; each rank computes
        one contiguous part."""
        import torch.distributed as dist

        n, world = len(split), self.rank.world
        bounds = [(int(p[0]), int(p[-1]) + 1) if len(p) else (0, 0)
                  for p in np.array_split(np.arange(n), world)]
        start, stop = bounds[self.rank.rank]
        longest = max(b - a for a, b in bounds)
        mine = predict(self.model, {k: v[start:stop] for k, v in split.inputs.items()}) \
            if stop > start else {}
        out: dict[str, np.ndarray] = {}
        for spec in self.data.signature.outputs:
            part = torch.zeros((longest, spec.size), dtype=torch.float32, device=self.device)
            if spec.name in mine:
                part[:stop - start] = torch.as_tensor(mine[spec.name]).reshape(-1, spec.size)
            parts = [torch.empty_like(part) for _ in range(world)]
            dist.all_gather(parts, part)  # world × (longest, size)
            out[spec.name] = torch.cat([p[:b - a] for p, (a, b) in zip(parts, bounds,
                                                                       strict=True)]
                                       ).cpu().numpy()  # (N, size)
        return out

    def outputs_loss(self, raw: dict[str, np.ndarray], split: Split) -> float:
        """The training loss of gathered outputs, chunked as one process computes it."""
        n = len(split)
        if n == 0:
            return float("nan")
        names = self.data.signature.output_names
        total = 0.0
        with torch.inference_mode():
            for start in range(0, n, LOSS_CHUNK):
                stop = start + LOSS_CHUNK
                outputs = tuple(torch.as_tensor(raw[name][start:stop]).to(self.device)
                                for name in names)
                ys = [torch.as_tensor(np.ascontiguousarray(split.targets[name][start:stop]))
                      .to(self.device) for name in names]
                total += float(self.loss(outputs, ys)) * len(ys[0])
        return total / n
