"""Model selection: which epoch's weights a run keeps, and the validation loss that picks it.

A small validation split makes its accuracy a coarse, quickly saturated signal: on 18 rows
every epoch after the fourth may score 1.0, so "the first epoch with the best accuracy"
keeps a model that is still far from fitted. The validation loss (the training objective
on held-out rows) keeps moving until the model stops generalising, so it is the default
criterion (`training.select: loss`). `training.select: objective` ranks epochs by the task
objective and breaks ties (a saturated metric) by the lower validation loss.

    criterion   value ranked              tie-break          direction
    loss        validation loss           —                  minimize
    objective   task objective (val)      validation loss    the objective's
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

if TYPE_CHECKING:
    from torch import nn

    from kiln.blueprint.schema import Blueprint
    from kiln.data.prepared import Split
    from kiln.model.signature import Signature
    from kiln.train.losses import TaskLoss

CRITERION_NAMES = {"loss": "validation loss",
                   "objective": "validation {objective} (ties: validation loss)"}


def minimizes(blueprint: Blueprint) -> bool:
    """Whether the selection criterion is lower-is-better."""
    return blueprint.training.select == "loss" or blueprint.task.direction == "minimize"


def selection_key(blueprint: Blueprint, val: dict[str, float]) -> tuple[float, float]:
    """(value ranked, tie-break value) of one epoch's validation figures; `val` holds the
    task metrics, `objective` and `loss`."""
    if blueprint.training.select == "loss":
        return val["loss"], float("nan")
    return val["objective"], val["loss"]


def describe(blueprint: Blueprint) -> str:
    """What chose the epoch, in words (for `kiln train` and run.json)."""
    return CRITERION_NAMES[blueprint.training.select].format(
        objective=blueprint.task.objective)


def split_loss(model: nn.Module, loss: TaskLoss, split: Split, signature: Signature,
               device: torch.device, batch_size: int = 1024) -> float:
    """The training loss (class weights included, no distillation) on a split, in eval mode."""
    n = len(split)
    if n == 0:
        return float("nan")
    was_training = model.training
    model.eval()
    total = 0.0
    try:
        with torch.inference_mode():
            for start in range(0, n, batch_size):
                stop = start + batch_size
                xs = [torch.as_tensor(np.ascontiguousarray(split.inputs[name][start:stop]))
                      .to(device) for name in signature.input_names]
                ys = [torch.as_tensor(np.ascontiguousarray(split.targets[name][start:stop]))
                      .to(device) for name in signature.output_names]
                outputs = tuple(model(*xs))
                total += float(loss(outputs, ys)) * len(xs[0])
    finally:
        model.train(was_training)
    return total / n
