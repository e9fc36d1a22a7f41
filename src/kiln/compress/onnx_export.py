"""The parity check that always follows an export (`kiln.model.onnx_export.export_onnx`).

`check_parity` runs the same
inputs through ONNX Runtime and PyTorch and says how far apart they are; "what trains is
what serves" is measured here, not assumed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.errors import ParityError

if TYPE_CHECKING:
    import onnxruntime as ort
    from torch import nn

    from kiln.model.signature import Signature

# Agreement of a regression head between two variants: |Δ| within 0.01 standardised units
# (1% of the target's spread). The fp32 parity check uses its own, much tighter, atol.
REGRESSION_AGREEMENT_TOL = 0.01


@dataclass
class Parity:
    """ONNX Runtime vs PyTorch on the same inputs.

    `max_abs_diff[name]` is the largest absolute difference of raw outputs (logits or
    standardised values) of head `name`; `agreement[name]` the share of rows with the same
    prediction (argmax for classification, thresholded sign for multilabel, `|diff| <= atol`
    for regression).
    """

    max_abs_diff: dict[str, float]
    agreement: dict[str, float]
    atol: float
    rows: int
    outputs: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return all(d <= self.atol for d in self.max_abs_diff.values())

    def to_dict(self) -> dict[str, Any]:
        return {"max_abs_diff": self.max_abs_diff, "agreement": self.agreement,
                "atol": self.atol, "rows": self.rows, "ok": self.ok}

    def describe(self) -> str:
        return "; ".join(f"{name}: max |diff| {self.max_abs_diff[name]:.3g}, agreement "
                         f"{self.agreement[name]:.2%}" for name in self.max_abs_diff)


def ort_session(path: str | Path, threads: int | None = None) -> ort.InferenceSession:
    """An ONNX Runtime CPU session (`kiln.bundle.session.ort_session`'s options)."""
    from kiln.bundle.session import ort_session as make_session

    return make_session(path, threads=threads)


def run_onnx(session: ort.InferenceSession, inputs: Mapping[str, np.ndarray],
             batch_size: int = 1024) -> dict[str, np.ndarray]:
    """Raw outputs of every head for `inputs` (name → array), in batches."""
    names = [o.name for o in session.get_outputs()]
    wanted = {i.name: i.type for i in session.get_inputs()}
    rows = len(next(iter(inputs.values())))
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for start in range(0, rows, batch_size):
        feed = {name: as_onnx_type(inputs[name][start:start + batch_size], kind)
                for name, kind in wanted.items()}
        for name, out in zip(names, session.run(names, feed), strict=True):
            parts[name].append(np.asarray(out))
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def as_onnx_type(array: np.ndarray, onnx_type: str) -> np.ndarray:
    dtype = np.int64 if onnx_type == "tensor(int64)" else np.float32
    return np.ascontiguousarray(array, dtype=dtype)


def run_torch(model: nn.Module, inputs: Mapping[str, np.ndarray], names: list[str],
              batch_size: int = 1024) -> list[np.ndarray]:
    """Raw outputs of `model` on `inputs` given in `names` order, under inference mode."""
    import torch

    model.eval()
    rows = len(inputs[names[0]])
    parts: list[list[np.ndarray]] = []
    with torch.inference_mode():
        for start in range(0, rows, batch_size):
            batch = [torch.from_numpy(np.ascontiguousarray(inputs[n][start:start + batch_size]))
                     for n in names]
            outs = model(*batch)
            if not parts:
                parts = [[] for _ in outs]
            for store, out in zip(parts, outs, strict=True):
                store.append(out.float().numpy())
    return [np.concatenate(chunks) for chunks in parts]


def predictions(raw: np.ndarray, kind: str) -> np.ndarray:
    """What a head predicts from its raw output: class ids, label bits, or values."""
    if kind == "classification":
        return np.asarray(raw).argmax(axis=-1)
    if kind == "multilabel":
        return np.asarray(raw) > 0
    return np.asarray(raw)


def agreement(a: np.ndarray, b: np.ndarray, kind: str, atol: float = 1e-4) -> float:
    """Share of rows where two heads' outputs give the same prediction."""
    if kind == "regression":
        same = np.all(np.abs(a - b).reshape(len(a), -1) <= max(atol, 1e-6), axis=1)
    else:
        pa, pb = predictions(a, kind), predictions(b, kind)
        same = np.all((pa == pb).reshape(len(pa), -1), axis=1)
    return float(np.mean(same)) if len(same) else 1.0


def check_parity(model: nn.Module, onnx_path: str | Path, inputs: Mapping[str, np.ndarray],
                 *, atol: float = 1e-4, threads: int | None = None,
                 signature: Signature | None = None, raise_on_fail: bool = True) -> Parity:
    """Compare ONNX Runtime with PyTorch on `inputs`; raise `ParityError` with the numbers
    when a head differs by more than `atol` (unless `raise_on_fail=False`).

    Output kinds (for agreement) come from `signature`, else from `model.output_names` with
    classification assumed for heads wider than one value.
    """
    session = ort_session(onnx_path, threads)
    input_names = [i.name for i in session.get_inputs()]
    got = run_onnx(session, inputs)
    expected = run_torch(model, inputs, input_names)
    if raise_on_fail and not all(np.isfinite(out).all() for out in expected):
        # not a parity problem: NaN differs from everything, ONNX or not
        raise ParityError("the PyTorch model itself outputs NaN or inf on these inputs — its "
                          "weights or inputs are not finite (a run trained on non-finite "
                          "data?); check the data (data.non_finite) and train again",
                          where=Path(onnx_path).name)
    kinds = _output_kinds(signature, list(got), expected)
    diffs, agree = {}, {}
    for (name, onnx_out), torch_out in zip(got.items(), expected, strict=True):
        diffs[name] = float(np.max(np.abs(onnx_out - torch_out))) if onnx_out.size else 0.0
        agree[name] = agreement(onnx_out, torch_out, kinds[name], atol)
    parity = Parity(diffs, agree, atol, len(next(iter(inputs.values()))), got)
    if raise_on_fail and not parity.ok:
        raise ParityError(f"{Path(onnx_path).name} does not match the PyTorch model on "
                          f"{parity.rows} rows (tolerance {atol:g}): {parity.describe()} — "
                          f"a block may behave differently in eval mode or in ONNX; export "
                          f"with another opset or report the block")
    return parity


def _output_kinds(signature: Signature | None, names: list[str],
                  expected: list[np.ndarray]) -> dict[str, str]:
    if signature is not None:
        return {o.name: o.type for o in signature.outputs}
    return {name: "classification" if out.ndim == 2 and out.shape[1] > 1 else "regression"
            for name, out in zip(names, expected, strict=True)}
