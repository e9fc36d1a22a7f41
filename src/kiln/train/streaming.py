"""Training on a streamed table (`StreamedData`): the loop of `kiln.train.loop`, with its
batches read from the file through a bounded shuffle window, and validation and final
scores computed over every row of a split, batch by batch.

What stays in memory while scoring a split is the model's raw outputs and the encoded
targets (a few numbers per row, for metrics such as ROC AUC that need them all) — never
the inputs. `session.make_loop` picks this loop when the data is streamed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from kiln.train.finite_guard import check_finite_step
from kiln.train.inference import score_raw
from kiln.train.loop import Loop
from kiln.train.optim import build_schedule

if TYPE_CHECKING:
    from kiln.data.streaming import SplitStream, StreamedData


class StreamingLoop(Loop):
    """`Loop` over `data.streams`: same optimizer, schedule, checkpoints and selection.

    The epoch's shuffle is seeded by (seed, epoch), so a resumed run reads its batches in
    the order the uninterrupted run would have."""

    data: StreamedData

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        train = self.data.streams["train"]
        # The schedule's steps per epoch come from the full training split, not the sample.
        self.steps = max(1, math.ceil(len(train) / self.training.batch_size))
        self.schedule = build_schedule(self.optimizer, self.training, self.steps,
                                       self.bp.task.direction)

    def train_epoch(self) -> float:
        """One pass over the training stream; returns the mean training loss."""
        self.model.train()
        total = torch.zeros((), device=self.device)
        seen = 0
        for batch, (xs, ys) in enumerate(self.stream_batches(), start=1):
            if self.augment is not None:
                xs = self.augment(xs, self.augment_rng)
            loss = self.step(xs, ys)
            check_finite_step(loss, self.model.parameters(), epoch=self.epoch + 1, batch=batch,
                              lr=self.optimizer.param_groups[0]["lr"], gradients=not self.amp)
            n = len(ys[0])
            total += loss.detach() * n
            seen += n
            self.progress.batch()
        return float(total) / max(seen, 1)

    def stream_batches(self) -> Iterator[tuple[list[torch.Tensor], list[torch.Tensor]]]:
        stream = self.data.streams["train"]
        spec = self.bp.data.stream
        names, outputs = self.data.signature.input_names, self.data.signature.output_names
        for inputs, targets in stream.batches(self.training.batch_size, seed=self.bp.seed,
                                              epoch=self.epoch + 1, window=spec.shuffle_window):
            yield ([torch.as_tensor(inputs[n]).to(self.device) for n in names],
                   [torch.as_tensor(targets[n]).to(self.device) for n in outputs])

    def validate(self) -> dict[str, float]:
        streams = self.data.streams
        return self.score_stream(streams["val"] if len(streams["val"]) else streams["train"])

    def score(self, split: Any) -> dict[str, float]:
        """Metrics of a split: `finish` passes the sample split, scored as its full stream."""
        for name in ("val", "test", "train"):
            if split is getattr(self.data, name):
                stream = self.data.streams[name]
                if not len(stream):
                    return {}
                scores = self.score_stream(stream)
                scores.pop("loss")  # as `score_split`: metrics and objective only
                return scores
        return super().score(split)

    def score_stream(self, stream: SplitStream) -> dict[str, float]:
        """The task's metrics, `objective` and `loss` over every row of `stream`."""
        signature = self.data.signature
        raw: dict[str, list[np.ndarray]] = {n: [] for n in signature.output_names}
        kept: dict[str, list[np.ndarray]] = {n: [] for n in signature.output_names}
        loss_sum, rows = 0.0, 0
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                for inputs, targets in stream.arrays():
                    xs = [torch.as_tensor(inputs[n]).to(self.device)
                          for n in signature.input_names]
                    ys = [torch.as_tensor(targets[n]).to(self.device)
                          for n in signature.output_names]
                    outputs = tuple(self.model(*xs))
                    loss_sum += float(self.loss(outputs, ys)) * len(ys[0])
                    rows += len(ys[0])
                    for name, out in zip(signature.output_names, outputs, strict=True):
                        raw[name].append(out.float().cpu().numpy())
                        kept[name].append(targets[name])
        finally:
            self.model.train(was_training)
        scores = score_raw({k: np.concatenate(v) for k, v in raw.items()},
                           {k: np.concatenate(v) for k, v in kept.items()},
                           self.data.preprocessor, signature, self.bp.task)
        scores["loss"] = loss_sum / max(rows, 1)
        return scores
