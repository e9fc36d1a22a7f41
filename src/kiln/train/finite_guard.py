"""Stop training the first time the loss or a gradient is not finite.

A NaN loss never recovers: every later weight is NaN, and a run that "finishes" that way
reports chance accuracy as if it were a result. The guard raises `TrainingError` naming
the epoch, the batch and the likely cause; the train stage marks the run `failed`.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

from kiln.errors import TrainingError


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
