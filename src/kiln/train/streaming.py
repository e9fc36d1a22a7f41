"""Training on a streamed table (`StreamedData`): the loop of `kiln.train.loop`, with its
batches read from the file through a bounded shuffle window, and validation and final
scores computed over every row of a split, batch by batch.

What stays in memory while scoring a split is the model's raw outputs and the encoded
targets of at most `data.stream.score_rows` rows (metrics such as ROC AUC need them all
at once) — never the inputs, and never more as the table grows. `session.make_loop`
picks this loop when the data is streamed.
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
    from kiln.data.streaming import StreamedData


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
        self.scored: tuple[tuple[int, ...], dict[str, dict[str, float]]] | None = None

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
        name = "val" if len(streams["val"]) else "train"
        return self.score_streams([name])[name]

    def score(self, split: Any) -> dict[str, float]:
        """Metrics of a split: `finish` passes the sample split, scored as its full stream.
        Validation and test are scored together in one pass over the file, and kept until
        the weights change."""
        names = [n for n in ("val", "test", "train") if split is getattr(self.data, n)]
        if not names:
            return super().score(split)
        if not len(self.data.streams[names[0]]):
            return {}
        token = tuple(p._version for p in self.model.parameters())
        if self.scored is None or self.scored[0] != token or names[0] not in self.scored[1]:
            wanted = [n for n in ("val", "test") if len(self.data.streams[n])]
            self.scored = (token, self.score_streams(list(dict.fromkeys(wanted + names))))
        scores = dict(self.scored[1][names[0]])
        scores.pop("loss")  # as `score_split`: metrics and objective only
        return scores

    def score_streams(self, names: list[str]) -> dict[str, dict[str, float]]:
        """The task's `loss` over every row of each named split, and its metrics and
        `objective` over at most `data.stream.score_rows` of them, in one pass."""
        from kiln.data.streaming import split_arrays

        signature = self.data.signature
        outputs = signature.output_names
        # split → head → chunks of raw outputs / encoded targets
        raw: dict[str, dict[str, list[np.ndarray]]] = {s: {n: [] for n in outputs}
                                                      for s in names}
        kept: dict[str, dict[str, list[np.ndarray]]] = {s: {n: [] for n in outputs}
                                                       for s in names}
        loss = dict.fromkeys(names, 0.0)
        rows = dict.fromkeys(names, 0)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                for name, (inputs, targets), keep in split_arrays(
                        [self.data.streams[s] for s in names], self.bp.data.stream.score_rows):
                    xs = [torch.as_tensor(inputs[n]).to(self.device)
                          for n in signature.input_names]
                    ys = [torch.as_tensor(targets[n]).to(self.device) for n in outputs]
                    out = tuple(self.model(*xs))
                    loss[name] += float(self.loss(out, ys)) * len(ys[0])
                    rows[name] += len(ys[0])
                    for head, values in zip(outputs, out, strict=True):
                        raw[name][head].append(values.float().cpu().numpy()[keep])
                        kept[name][head].append(targets[head][keep])
        finally:
            self.model.train(was_training)
        return {s: {**score_raw({k: np.concatenate(v) for k, v in raw[s].items()},
                                {k: np.concatenate(v) for k, v in kept[s].items()},
                                self.data.preprocessor, signature, self.bp.task),
                    "loss": loss[s] / max(rows[s], 1)} for s in names}
