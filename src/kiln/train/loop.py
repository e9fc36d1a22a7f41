"""The training loop: in-memory batches, one optimizer step per batch, validation and early
stopping per epoch, checkpoints (`training.checkpoint_every`) from which a run continues
bit-for-bit.

Lifecycle of `Loop.run`: seed → (restore a checkpoint) → per epoch: train on shuffled
batches, score the validation split, step the schedule, update early stopping, record
history, checkpoint, call `on_epoch` (tracking) and `epoch_callback` (tuning may raise
to prune) → restore the best weights.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from kiln.train.checkpoint import CheckpointWriter, capture_rng, restore_rng
from kiln.train.compiled import TrainingForward
from kiln.train.device import choose_precision, host_to_device, resolve_device
from kiln.train.finite_guard import EpochWatch
from kiln.train.inference import score_split
from kiln.train.losses import Distillation, TaskLoss, check_teacher
from kiln.train.optim import build_optimizer, build_schedule
from kiln.train.progress import Progress, Silent
from kiln.train.selection import describe, minimizes, selection_key
from kiln.train.validation import validate_split

if TYPE_CHECKING:
    from kiln.blueprint.schema import Blueprint
    from kiln.data.prepared import PreparedData, Split

EpochCallback = Callable[[int, dict[str, float]], None]


@dataclass
class EarlyStopping:
    """Tracks the best validation criterion (`kiln.train.selection`); `stop` once `patience`
    epochs bring nothing, but never before `min_epochs`. An equal value wins on a lower
    `tie` (the validation loss when the criterion is a saturating metric)."""

    patience: int | None
    min_delta: float
    minimize: bool
    min_epochs: int = 0
    best: float = math.nan
    best_tie: float = math.nan
    best_epoch: int = 0
    bad_epochs: int = 0
    last_epoch: int = 0

    def update(self, value: float, epoch: int, tie: float = math.nan) -> bool:
        """Record this epoch's criterion; True when it is the new best."""
        gain = (self.best - value) if self.minimize else (value - self.best)
        tied = gain == 0 and tie < self.best_tie  # False whenever a tie value is NaN
        improved = self.best_epoch == 0 or (not math.isnan(value) and (
            math.isnan(self.best) or gain > self.min_delta or tied))
        if improved:
            self.best, self.best_tie, self.best_epoch, self.bad_epochs = value, tie, epoch, 0
        else:
            self.bad_epochs += 1
        self.last_epoch = epoch
        return improved

    @property
    def stop(self) -> bool:
        return (self.patience is not None and self.bad_epochs >= self.patience
                and self.last_epoch >= self.min_epochs)

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)


@dataclass
class FitResult:
    history: list[dict[str, Any]] = field(default_factory=list)
    best_epoch: int = 0
    epochs_run: int = 0
    stopped_early: bool = False
    selected_by: str = ""
    members: list[dict[str, Any]] = field(default_factory=list)  # a bagged model's members


def select_device(blueprint: Blueprint) -> torch.device:
    """`training.device` resolved (`kiln.train.device`); raises `BlueprintError`."""
    return resolve_device(blueprint.training.device)


class Loop:
    """One model's training on prepared data; `checkpoint_dir=None` keeps nothing on disk."""

    def __init__(self, model: nn.Module, data: PreparedData, blueprint: Blueprint, *,
                 device: torch.device | None = None, distill: Distillation | None = None,
                 progress: Progress | None = None, checkpoint_dir: Path | None = None,
                 epoch_callback: EpochCallback | None = None,
                 on_epoch: Callable[[dict[str, Any]], None] | None = None) -> None:
        self.bp, self.data, self.training = blueprint, data, blueprint.training
        self.device = device or select_device(blueprint)
        self.model = model.to(self.device)
        # The module the training step calls (through `self.forward`): the model itself, or
        # the DistributedDataParallel wrapper around it under torchrun
        # (kiln.train.distributed). Everything else — scoring, checkpoints, best weights —
        # uses `self.model`.
        self.train_module: nn.Module = self.model
        self.distill = distill
        self.progress = progress or Silent()
        self.checkpoint_dir, self.epoch_callback, self.on_epoch = (checkpoint_dir,
                                                                   epoch_callback, on_epoch)
        self.precision = choose_precision(self.device, self.training.amp)
        self.amp = self.precision.dtype is not None
        self.forward = TrainingForward(self.train_module, compile=self.training.compile)
        self.loss = TaskLoss(data.signature, self.training, data.train.targets).to(self.device)
        self.inputs = [host_to_device(data.train.inputs[n], self.device)
                       for n in data.signature.input_names]
        self.targets = [host_to_device(data.train.targets[n], self.device)
                        for n in data.signature.output_names]
        self.steps = max(1, math.ceil(len(data.train) / self.training.batch_size))
        self.optimizer = build_optimizer(self.model, self.training)
        self.schedule = build_schedule(self.optimizer, self.training, self.steps,
                                       blueprint.task.direction)
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.precision.scaled)
        stopping = self.training.early_stopping
        self.stopping = EarlyStopping(stopping.patience, stopping.min_delta,
                                      minimizes(blueprint), stopping.min_epochs)
        self.generator = torch.Generator().manual_seed(blueprint.seed)
        self.augment_rng = np.random.default_rng(blueprint.seed)
        self.augment = image_augmenter(blueprint, data)
        self.best_weights: dict[str, torch.Tensor] = {}
        self.history: list[dict[str, Any]] = []
        self.epoch = 0  # epochs completed
        self.writer: CheckpointWriter | None = None
        if distill is not None:
            distill.teacher.to(self.device).eval()
            check_teacher(distill.teacher, [o.size for o in data.signature.outputs],
                          [t[:2] for t in self.inputs])

    # ------------------------------------------------------------------ epochs

    def run(self) -> FitResult:
        """Train from `self.epoch + 1` to the last epoch or an early stop."""
        if self.epoch == 0:
            seed_everything(self.bp.seed)
        self.progress.start(self.training.epochs, self.epoch + 1, self.steps)
        if self.checkpoint_dir is not None:
            self.writer = CheckpointWriter(self.checkpoint_dir, self.training.checkpoint_every)
        try:
            while self.epoch < self.training.epochs and not self.stopping.stop:
                self.run_epoch(self.epoch + 1)
        except BaseException:
            with contextlib.suppress(Exception):  # the loop's error is the one to report
                if self.writer is not None:
                    self.writer.flush()  # the last finished epoch, for --resume
                self.close_writer()
            raise
        finally:
            self.progress.close()
        self.close_writer()
        if self.best_weights:
            self.model.load_state_dict(self.best_weights)
        return FitResult(self.history, self.stopping.best_epoch, self.epoch, self.stopping.stop,
                         describe(self.bp))

    def run_epoch(self, epoch: int) -> None:
        started = time.perf_counter()
        self.progress.epoch_begins(epoch)
        lr = self.optimizer.param_groups[0]["lr"]
        train_loss = self.train_epoch()
        val = self.validate()
        self.schedule.after_epoch(val["objective"])
        value, tie = selection_key(self.bp, val)
        if self.stopping.update(value, epoch, tie):
            self.best_weights = {k: v.detach().to("cpu", copy=True)
                                 for k, v in self.model.state_dict().items()}
        record = {"epoch": epoch, "train_loss": train_loss, "lr": lr, "val": val,
                  "time": time.perf_counter() - started}
        self.history.append(record)
        self.epoch = epoch
        self.progress.epoch_ends(record)
        if self.on_epoch is not None:
            self.on_epoch(record)
        if self.writer is not None:
            final = self.epoch >= self.training.epochs or self.stopping.stop
            self.writer.submit(self.state_dict(), final=final)
        if self.epoch_callback is not None:
            self.epoch_callback(epoch, dict(val))

    def train_epoch(self) -> float:
        """One pass over the shuffled training split; returns the mean training loss."""
        self.model.train()
        total = torch.zeros((), device=self.device)
        seen = 0
        watch = EpochWatch(self.device, epoch=self.epoch + 1)
        for index in self.batches():
            xs = [t[index] for t in self.inputs]  # each (B, *shape)
            ys = [t[index] for t in self.targets]
            if self.augment is not None:
                xs = self.augment(xs, self.augment_rng)
            loss = self.step(xs, ys)
            watch.batch(loss, lr=self.optimizer.param_groups[0]["lr"])
            total += loss.detach() * len(index)
            seen += len(index)
            self.progress.batch()
        watch.end(self.model.parameters())
        return float(total) / max(seen, 1)

    def batches(self) -> Iterator[torch.Tensor]:
        """Index batches from a seeded permutation; a last batch of one row is dropped
        (batch normalisation cannot train on a single sample)."""
        n, size = len(self.data.train), self.training.batch_size
        order = torch.randperm(n, generator=self.generator).to(self.device)  # (N,)
        for start in range(0, n, size):
            index = order[start:start + size]
            if len(index) > 1 or n == 1:
                yield index

    def step(self, xs: list[torch.Tensor], ys: list[torch.Tensor]) -> torch.Tensor:
        """One optimizer step; a compiled forward that fails is retried eagerly."""
        return self.forward.attempt(lambda: self.eager_step(xs, ys))

    def eager_step(self, xs: list[torch.Tensor], ys: list[torch.Tensor]) -> torch.Tensor:
        self.optimizer.zero_grad(set_to_none=True)
        with self.precision.autocast(self.device):
            outputs = self.forward(*xs)
            teacher = None
            if self.distill is not None:
                with torch.no_grad():
                    teacher = tuple(self.distill.teacher(*xs))
            loss = self.loss(tuple(outputs), ys, teacher, self.distill)
        self.scaler.scale(loss).backward()
        if self.training.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.training.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.schedule.after_batch()
        return loss

    def close_writer(self) -> None:
        if self.writer is not None:
            writer, self.writer = self.writer, None
            writer.close()

    def validate(self) -> dict[str, float]:
        """The validation split's metrics, `objective` and `loss` (train split without one)."""
        split = self.data.val if len(self.data.val) else self.data.train
        return validate_split(self.model, self.loss, split, self.data.preprocessor,
                              self.data.signature, self.bp.task, self.device)

    def score(self, split: Split) -> dict[str, float]:
        return score_split(self.model, split, self.data.preprocessor, self.data.signature,
                           self.bp.task)

    def validation_scores(self) -> dict[str, float]:
        """The run's validation figures: the trained model on the validation split."""
        return self.score(self.data.val) if len(self.data.val) else {}

    def validation_outputs(self) -> tuple[dict[str, np.ndarray],
                                          dict[str, np.ndarray]] | None:
        """(raw outputs, targets) to choose a decision threshold on; None: the validation
        split's own (`kiln.train.threshold.fit_threshold`)."""
        return None

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict[str, Any]:
        return {
            "epoch": self.epoch,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.schedule.state_dict(),
            "scaler": self.scaler.state_dict() if self.precision.scaled else {},
            "early_stopping": self.stopping.state_dict(),
            "best_weights": self.best_weights,
            "history": self.history,
            "rng": capture_rng(self.generator, self.augment_rng),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["scheduler"])
        if self.precision.scaled and state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        self.stopping.load_state_dict(state["early_stopping"])
        self.best_weights = dict(state["best_weights"])
        self.history = list(state["history"])
        self.epoch = int(state["epoch"])
        restore_rng(state["rng"], self.generator, self.augment_rng)


def seed_everything(seed: int) -> None:
    """Seed every global generator a run touches (dropout, NumPy, Python)."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


Augmenter = Callable[[list[torch.Tensor], np.random.Generator], list[torch.Tensor]]


def image_augmenter(blueprint: Blueprint, data: PreparedData) -> Augmenter | None:
    """Per-batch augmentation of the image inputs whose feature asks for it, or None."""
    wanted = {f.input_name for f in data.features if f.type == "image" and f.augment}
    positions = [i for i, n in enumerate(data.signature.input_names) if n in wanted]
    if not positions:
        return None
    names = data.signature.input_names

    def augment(xs: list[torch.Tensor], rng: np.random.Generator) -> list[torch.Tensor]:
        # The preprocessor's own augmentation (NumPy), on this batch's image inputs.
        done = data.preprocessor.augment({names[i]: xs[i].cpu().numpy() for i in positions},
                                         rng)  # name → (B, C, H, W)
        out = list(xs)
        for i in positions:
            out[i] = host_to_device(done[names[i]], xs[i].device)
        return out

    return augment
