"""Stop training the first time the loss or a gradient is not finite.

A NaN loss never recovers: every later weight is NaN, and a run that "finishes" that way
reports chance accuracy as if it were a result. The guard raises `TrainingError` naming
the epoch, the batch and the likely cause; the train stage marks the run `failed`.

The loop uses `EpochWatch`: every batch's loss, and the weights once per epoch. A
non-finite gradient makes the weights non-finite at that step (SGD and Adam both carry it
into the update; clipping an infinite norm gives NaN), so the next batch's loss, or the
end-of-epoch weight check for the last batch, reports it. Checking every gradient after
every step cost 3–4 % of a small model's epoch (`benchmarks/train_overhead.py`); the weight
check costs one pass per epoch. On a GPU the losses stay on the device and are read back
once at the end of the epoch: a read per batch would stall the GPU's queue every step.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from kiln.errors import TrainingError


class EpochWatch:
    """Watches one epoch: `batch(loss, lr)` after each optimizer step, `end(parameters)`
    after the last. Raises `TrainingError` for the first batch whose loss is not finite
    (at once on the CPU, at `end` on other devices), or at `end` when a weight is not."""

    def __init__(self, device: torch.device, epoch: int) -> None:
        self.epoch = epoch
        self.deferred = device.type != "cpu"
        self.losses: list[torch.Tensor] = []
        self.lrs: list[float] = []

    def batch(self, loss: torch.Tensor, lr: float) -> None:
        if self.deferred:
            self.losses.append(loss.detach())
            self.lrs.append(lr)
        else:
            self.lrs.append(lr)
            check_finite_step(loss, (), epoch=self.epoch, batch=len(self.lrs), lr=lr,
                              gradients=False)

    def end(self, parameters: Iterable[torch.Tensor]) -> None:
        if self.losses:
            finite = torch.isfinite(torch.stack(self.losses).float()).cpu()  # (batches,)
            if not bool(finite.all()):
                first = int((~finite).nonzero()[0, 0])
                check_finite_step(self.losses[first], (), epoch=self.epoch, batch=first + 1,
                                  lr=self.lrs[first], gradients=False)
        weights = [p.detach() for p in parameters]
        if weights and not bool(torch.isfinite(torch.stack(torch._foreach_norm(weights))).all()):
            batch = len(self.lrs)
            raise TrainingError(f"epoch {self.epoch}, batch {batch}: a weight is not finite "
                                f"after the epoch's last step (a gradient was not) — "
                                f"{_cause(self.epoch, batch, self.lrs[-1] if self.lrs else 0)}"
                                f"; the run is marked failed",
                                where=f"epoch {self.epoch}, batch {batch}")


def check_finite_step(loss: torch.Tensor, parameters: Iterable[torch.Tensor], *, epoch: int,
                      batch: int, lr: float, gradients: bool = True) -> None:
    """Raise `TrainingError` when `loss` or (with `gradients`) any gradient is NaN or ±inf.

    Call it after the optimiser step of batch `batch` (1-based) of epoch `epoch`. Mixed
    precision skips the gradient check: its loss scaler expects, and skips, inf gradients.
    """
    if not bool(torch.isfinite(loss.detach()).all()):
        what = f"the training loss is {float(loss.detach().float().mean())}"
    elif gradients and not _gradients_finite(parameters):
        what = "a gradient is not finite"
    else:
        return
    raise TrainingError(f"epoch {epoch}, batch {batch}: {what} — {_cause(epoch, batch, lr)}; "
                        f"the run is marked failed", where=f"epoch {epoch}, batch {batch}")


def _gradients_finite(parameters: Iterable[torch.Tensor]) -> bool:
    grads = [p.grad.detach() for p in parameters if p.grad is not None]
    if not grads:
        return True
    norms = torch._foreach_norm(grads)  # one fused pass over every gradient
    return bool(torch.isfinite(torch.stack(norms)).all())


def _cause(epoch: int, batch: int, lr: float) -> str:
    if epoch == 1 and batch == 1:
        return ("at the very first batch, so the inputs or targets most likely hold "
                "non-finite or huge values — check the data (data.non_finite, scaling)")
    return (f"earlier batches were finite, so the learning rate ({lr:g}) is likely too high "
            f"— lower training.lr or set training.grad_clip")
