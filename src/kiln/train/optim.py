"""Optimizer and learning-rate schedule from `training`, and when each schedule steps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from torch import nn

    from kiln.blueprint.schema import TrainingSpec


def build_optimizer(model: nn.Module, training: TrainingSpec) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if training.optimizer == "sgd":
        return torch.optim.SGD(params, lr=training.lr, momentum=training.momentum,
                               weight_decay=training.weight_decay)
    if training.optimizer == "adam":  # L2 penalty added to the gradient
        return torch.optim.Adam(params, lr=training.lr, weight_decay=training.weight_decay)
    # AdamW: decoupled weight decay, the better default for most networks.
    return torch.optim.AdamW(params, lr=training.lr, weight_decay=training.weight_decay)


@dataclass
class Schedule:
    """A scheduler and the moment it steps: per batch (onecycle), per epoch, or per epoch
    on the validation objective (plateau)."""

    scheduler: Any  # torch.optim.lr_scheduler.LRScheduler | ReduceLROnPlateau | None
    per_batch: bool = False
    on_metric: bool = False

    def after_batch(self) -> None:
        if self.scheduler is not None and self.per_batch:
            self.scheduler.step()

    def after_epoch(self, objective: float) -> None:
        if self.scheduler is None or self.per_batch:
            return
        if self.on_metric:
            self.scheduler.step(objective)
        else:
            self.scheduler.step()

    def state_dict(self) -> dict[str, Any]:
        return self.scheduler.state_dict() if self.scheduler is not None else {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if self.scheduler is not None:
            self.scheduler.load_state_dict(state)


def build_schedule(optimizer: torch.optim.Optimizer, training: TrainingSpec,
                   steps_per_epoch: int, direction: str) -> Schedule:
    sched = torch.optim.lr_scheduler
    kind = training.scheduler
    if kind == "cosine":
        return Schedule(sched.CosineAnnealingLR(optimizer, T_max=training.epochs))
    if kind == "onecycle":
        return Schedule(sched.OneCycleLR(optimizer, max_lr=training.lr,
                                         epochs=training.epochs,
                                         steps_per_epoch=steps_per_epoch), per_batch=True)
    if kind == "step":
        return Schedule(sched.StepLR(optimizer, step_size=training.step_size,
                                     gamma=training.gamma))
    if kind == "plateau":
        return Schedule(sched.ReduceLROnPlateau(optimizer,
                                                mode="min" if direction == "minimize" else "max",
                                                factor=training.gamma,
                                                patience=training.step_size), on_metric=True)
    return Schedule(None)
