"""Running a trained model on arrays, and scoring a split with the task's metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from kiln.errors import DataError

if TYPE_CHECKING:
    from kiln.blueprint.schema import TaskSpec
    from kiln.data.prepared import Split
    from kiln.model.signature import Signature


def model_device(model: nn.Module) -> torch.device:
    first = next(model.parameters(), None)
    return first.device if first is not None else torch.device("cpu")


def model_names(model: nn.Module, attribute: str) -> list[str]:
    """`input_names` / `output_names` of a kiln model (KilnModel, ExternalModel)."""
    names = getattr(model, attribute, None)
    if names is None:
        raise DataError(f"predict: the model has no {attribute} — build it with kiln.build_model")
    return [str(n) for n in names]


def predict(model: nn.Module, inputs: dict[str, np.ndarray],
            batch_size: int = 1024) -> dict[str, np.ndarray]:
    """Raw outputs per head (logits or standardised values), in batches, in inference mode.

    `inputs` maps each of `model.input_names` to an (N, *shape) array. Raises `DataError`
    when an input is missing or the arrays disagree on N. The model is put in eval mode.
    """
    names = model_names(model, "input_names")
    outputs = model_names(model, "output_names")
    missing = [n for n in names if n not in inputs]
    if missing:
        raise DataError(f"predict: input(s) {missing} missing — the model takes {names}")
    sizes = {len(inputs[n]) for n in names}
    if len(sizes) != 1:
        raise DataError(f"predict: inputs have different numbers of rows {sorted(sizes)}")
    n = sizes.pop()
    device = model_device(model)
    tensors = [torch.as_tensor(np.ascontiguousarray(inputs[name])) for name in names]
    chunks: list[list[np.ndarray]] = [[] for _ in outputs]
    model.eval()
    with torch.inference_mode():
        for start in range(0, n, batch_size):
            batch = [t[start:start + batch_size].to(device) for t in tensors]
            for i, out in enumerate(model(*batch)):
                chunks[i].append(out.float().cpu().numpy())
    return {name: np.concatenate(parts) if parts else np.zeros((0,), np.float32)
            for name, parts in zip(outputs, chunks, strict=True)}


def decode_targets(preprocessor: Any, signature: Signature,
                   targets: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Targets in the units metrics expect: class ids and 0/1 as they are, regression targets
    from standardised values back to target units (the preprocessor's own inverse)."""
    regression = {o.name: targets[o.name] for o in signature.outputs if o.type == "regression"}
    out = dict(targets)
    if regression:
        out.update(preprocessor.decode(regression))
    return out


def score_split(model: nn.Module, split: Split, preprocessor: Any, signature: Signature,
                task: TaskSpec, batch_size: int = 1024) -> dict[str, float]:
    """The task's metrics on one split (plus `objective`), from decoded model outputs."""
    raw = predict(model, split.inputs, batch_size)
    return score_raw(raw, split.targets, preprocessor, signature, task)


def score_raw(raw: dict[str, np.ndarray], targets: dict[str, np.ndarray], preprocessor: Any,
              signature: Signature, task: TaskSpec) -> dict[str, float]:
    """The task's metrics (plus `objective`) of raw outputs (logits / standardised values)
    against encoded targets: both decoded by the run's own preprocessing first. Training,
    evaluation and compression all score through here."""
    from kiln.metrics import score_targets

    decoded = preprocessor.decode(raw)
    truth = decode_targets(preprocessor, signature, targets)
    types: dict[str, str] = {o.name: o.type for o in signature.outputs}
    return score_targets(types, truth, decoded, task.metrics, task.objective or "")
