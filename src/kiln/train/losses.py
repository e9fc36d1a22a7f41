"""The training objective: one loss per head, weighted and summed; optional distillation.

classification → cross-entropy on logits (label smoothing, `balanced` class weights),
multilabel → BCE-with-logits, regression → MSE on standardised targets. A multi-task model
minimises Σ loss_weight·loss over its heads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from kiln.errors import RunError

if TYPE_CHECKING:
    from kiln.blueprint.schema import TrainingSpec
    from kiln.model.signature import OutputSpec, Signature


@dataclass
class Distillation:
    """Train a student against a teacher's softened outputs (classification heads only).

    loss = α·T²·KL(softmax(teacher/T) ‖ softmax(student/T)) + (1 − α)·task loss.
    The T² factor keeps the soft-target gradients on the task loss's scale (Hinton et al.).
    """

    teacher: nn.Module
    alpha: float = 0.5
    temperature: float = 2.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.alpha <= 1.0:
            raise RunError(f"distillation alpha {self.alpha} must lie in [0, 1]")
        if self.temperature <= 0:
            raise RunError(f"distillation temperature {self.temperature} must be positive")


def balanced_weights(labels: np.ndarray, num_classes: int) -> torch.Tensor:
    """Inverse class frequency, scaled so that a balanced set gets weight 1 per class."""
    counts = np.bincount(labels.astype(np.int64), minlength=num_classes).astype(np.float64)
    weights = len(labels) / (num_classes * np.maximum(counts, 1.0))
    return torch.tensor(weights, dtype=torch.float32)


class TaskLoss(nn.Module):
    """Σ over heads of loss_weight × the head's loss; `forward` returns a scalar tensor."""

    def __init__(self, signature: Signature, training: TrainingSpec,
                 train_targets: dict[str, np.ndarray]) -> None:
        super().__init__()
        self.outputs: tuple[OutputSpec, ...] = signature.outputs
        self.label_smoothing = training.label_smoothing
        for out in self.outputs:
            weight = None
            if out.type == "classification" and training.class_weights == "balanced":
                weight = balanced_weights(train_targets[out.name], out.size)
            # A buffer moves with `.to(device)` together with the module.
            self.register_buffer(f"class_weight_{out.name}", weight)

    def head_loss(self, out: OutputSpec, logits: torch.Tensor,
                  target: torch.Tensor) -> torch.Tensor:
        if out.type == "classification":
            weight = getattr(self, f"class_weight_{out.name}")
            return F.cross_entropy(logits.float(), target, weight=weight,
                                   label_smoothing=self.label_smoothing)
        if out.type == "multilabel":
            return F.binary_cross_entropy_with_logits(logits.float(), target)
        return F.mse_loss(logits.float(), target)  # standardised units

    def forward(self, outputs: tuple[torch.Tensor, ...], targets: list[torch.Tensor],
                teacher: tuple[torch.Tensor, ...] | None = None,
                distill: Distillation | None = None) -> torch.Tensor:
        total = outputs[0].new_zeros((), dtype=torch.float32)
        for out, logits, target, i in zip(self.outputs, outputs, targets,
                                          range(len(outputs)), strict=True):
            loss = self.head_loss(out, logits, target)
            if distill is not None and teacher is not None and out.type == "classification":
                soft = soft_target_loss(logits, teacher[i], distill.temperature)
                loss = distill.alpha * soft + (1.0 - distill.alpha) * loss
            total = total + out.loss_weight * loss
        return total


def soft_target_loss(student: torch.Tensor, teacher: torch.Tensor,
                     temperature: float) -> torch.Tensor:
    """T²·KL(softmax(teacher/T) ‖ softmax(student/T)), averaged over the batch."""
    log_p_student = F.log_softmax(student.float() / temperature, dim=-1)  # (N, K)
    log_p_teacher = F.log_softmax(teacher.float() / temperature, dim=-1)  # (N, K)
    kl = F.kl_div(log_p_student, log_p_teacher, log_target=True, reduction="batchmean")
    return kl * temperature ** 2


def check_teacher(teacher: nn.Module, student_sizes: list[int],
                  example: list[torch.Tensor]) -> None:
    """Raise RunError unless the teacher gives one output per head with matching sizes."""
    teacher.eval()
    with torch.no_grad():
        got = teacher(*example)
    got = tuple(got) if isinstance(got, (tuple, list)) else (got,)
    sizes = [int(t.shape[-1]) for t in got]
    if sizes != student_sizes:
        raise RunError(
            f"distillation: the teacher's outputs have sizes {sizes} but the student's heads "
            f"have {student_sizes} — distil from a teacher trained on the same task and labels"
        )
