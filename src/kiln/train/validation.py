"""The per-epoch validation pass: the task's metrics and the training loss of one split from
a single forward pass.

Scoring (`score_split`) and the validation loss (`selection.split_loss`) each ran the model
over the split; on the digits CNN that second pass was ~5 % of an epoch. Here the outputs of
one pass feed both: the loss on the tensors, the metrics on their NumPy copies. The figures
are the very same (same batches, same order, same accumulation) as the two separate passes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from kiln.train.device import host_to_device
from kiln.train.inference import score_raw

if TYPE_CHECKING:
    from torch import nn

    from kiln.blueprint.schema import TaskSpec
    from kiln.data.prepared import Split
    from kiln.model.signature import Signature
    from kiln.train.losses import TaskLoss


def validate_split(model: nn.Module, loss: TaskLoss, split: Split, preprocessor: Any,
                   signature: Signature, task: TaskSpec, device: torch.device,
                   batch_size: int = 1024) -> dict[str, float]:
    """Metrics of `split` (plus `objective`) and its training loss under `loss`, in eval
    mode; the model's train/eval mode is restored afterwards."""
    n = len(split)
    if n == 0:
        return {"loss": float("nan")}
    chunks: list[list[np.ndarray]] = [[] for _ in signature.output_names]
    total = 0.0
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, n, batch_size):
                stop = start + batch_size
                xs = [host_to_device(split.inputs[name][start:stop], device)
                      for name in signature.input_names]  # each (B, *shape)
                ys = [host_to_device(split.targets[name][start:stop], device)
                      for name in signature.output_names]
                outputs = tuple(model(*xs))
                total += float(loss(outputs, ys)) * len(xs[0])
                for i, out in enumerate(outputs):
                    chunks[i].append(out.float().cpu().numpy())
    finally:
        model.train(was_training)
    raw = {name: np.concatenate(parts)
           for name, parts in zip(signature.output_names, chunks, strict=True)}
    val = score_raw(raw, split.targets, preprocessor, signature, task)
    val["loss"] = total / n
    return val
