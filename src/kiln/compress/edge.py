"""The edge variant: an ExecuTorch program (`model.pte`) lowered to the XNNPACK delegate,
for phones and embedded CPUs, measured beside the ONNX variants.

`torch.export` captures the run's model with a dynamic batch dimension (1 … `MAX_BATCH`),
`executorch.exir.to_edge_transform_and_lower` hands every operator XNNPACK supports to the
delegate, and the program is serialised to one flat buffer. Parity is checked through
ExecuTorch's own Python runtime (`executorch.runtime`), the same C++ runtime a device runs,
against eager PyTorch on the test split: max |difference| per head ≤ `PARITY_TOL`.

The variant is opt-in (`compress.executorch: true`, `kiln compress --executorch`) and needs
the `edge` extra (`pip install kiln[edge]`: executorch, which pins torchao). It is measured
and listed but never selected: a production bundle is ONNX, served by ONNX Runtime; the
`.pte` file is for an app that embeds the ExecuTorch runtime.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.errors import ParityError

if TYPE_CHECKING:
    from torch import nn

    from kiln.compress.timing import Timer
    from kiln.model.signature import Signature

NAME = "executorch"
FILENAME = "model.pte"
MAX_BATCH = 1024  # the memory-planned upper bound of the dynamic batch dimension
PARITY_TOL = 1e-4
EXAMPLE_ROWS = 64
NOTE = ("edge target (ExecuTorch .pte, XNNPACK): measured beside the ONNX variants; a "
        "bundle is ONNX, so it is never selected — ship the .pte inside an app")


class ExecuTorchMissing(Exception):
    """executorch is not installed; the variant is skipped with this message."""


def require_executorch() -> None:
    """Raise `ExecuTorchMissing` (with the install line) when executorch cannot be imported."""
    try:
        _quiet_imports()
        import executorch.exir
        import executorch.runtime  # noqa: F401
    except ImportError as exc:
        raise ExecuTorchMissing(f"the executorch variant needs the ExecuTorch package "
                                f"({exc.name or exc}) — pip install 'kiln[edge]'") from None


def _quiet_imports() -> None:
    # torchao (imported by ExecuTorch) logs every optional CUDA kernel library it cannot load.
    for name in ("torchao", "executorch"):
        logging.getLogger(name).setLevel(logging.ERROR)


def export_pte(model: nn.Module, signature: Signature, example: Mapping[str, np.ndarray],
               path: Path) -> dict[str, Any]:
    """Lower `model` to an XNNPACK-delegated ExecuTorch program at `path` (atomically)."""
    import torch
    from executorch.backends.xnnpack.partition.xnnpack_partitioner import XnnpackPartitioner
    from executorch.exir import to_edge_transform_and_lower
    from torch.export import Dim, export

    from kiln.files import atomic_write_bytes

    started = time.perf_counter()
    names = signature.input_names
    # 64 example rows (repeated when fewer): with a batch of 8 the lowered program's
    # planned input capacity came out at 15 rows, whatever the declared bound.
    rows = np.resize(np.arange(len(example[names[0]])), EXAMPLE_ROWS)
    xs = tuple(torch.as_tensor(np.ascontiguousarray(example[n][rows])) for n in names)
    batch = Dim("batch", min=1, max=MAX_BATCH)
    model.eval()
    program = export(model, xs, dynamic_shapes=(tuple({0: batch} for _ in names),))
    lowered = to_edge_transform_and_lower(program, partitioner=[XnnpackPartitioner()])
    delegated = sum(1 for node in lowered.exported_program().graph.nodes
                    if node.op == "call_function" and "delegate" in str(node.target))
    buffer = lowered.to_executorch().buffer
    atomic_write_bytes(path, buffer)
    return {"method": "torch.export → ExecuTorch, XNNPACK delegate (fp32)",
            "delegated_subgraphs": delegated, "max_batch": MAX_BATCH,
            "export_seconds": round(time.perf_counter() - started, 2)}


class PteRunner:
    """An ExecuTorch program loaded by its Python runtime; `run` takes input arrays of any
    number of rows (split into chunks of at most `MAX_BATCH`)."""

    def __init__(self, path: Path, input_names: list[str]) -> None:
        from executorch.runtime import Runtime

        self.program = Runtime.get().load_program(str(path))
        self.method = self.program.load_method("forward")
        self.names = input_names

    def call(self, xs: list[Any]) -> list[Any]:
        return list(self.method.execute(xs))

    def run(self, inputs: Mapping[str, np.ndarray]) -> list[np.ndarray]:
        import torch

        n = len(inputs[self.names[0]])
        parts: list[list[np.ndarray]] = []
        for start in range(0, n, MAX_BATCH):
            xs = [torch.as_tensor(np.ascontiguousarray(inputs[name][start:start + MAX_BATCH]))
                  for name in self.names]
            parts.append([out.numpy().astype(np.float32) for out in self.call(xs)])
        return [np.concatenate(heads) for heads in zip(*parts, strict=True)]


def check_pte_parity(model: nn.Module, path: Path, inputs: Mapping[str, np.ndarray],
                     signature: Signature) -> dict[str, Any]:
    """ExecuTorch runtime vs eager PyTorch on `inputs`; raises `ParityError` past the
    tolerance, else returns the max differences per head."""
    from kiln.compress.onnx_export import run_torch

    got = PteRunner(path, signature.input_names).run(inputs)
    want = run_torch(model, inputs, signature.input_names)
    diffs = {o.name: float(np.max(np.abs(g - w))) if g.size else 0.0
             for o, g, w in zip(signature.outputs, got, want, strict=True)}
    if any(not d <= PARITY_TOL for d in diffs.values()):
        raise ParityError(f"{path.name}: the ExecuTorch program does not compute what the "
                          f"PyTorch model computes — max |difference| per head {diffs} "
                          f"(tolerance {PARITY_TOL}); report the model's blocks to kiln")
    return {"max_abs_diff": diffs, "ok": True, "tolerance": PARITY_TOL,
            "runtime": "executorch.runtime (Python bindings of the C++ runtime)"}


def pte_outputs(path: Path, inputs: Mapping[str, np.ndarray],
                signature: Signature) -> dict[str, np.ndarray]:
    outs = PteRunner(path, signature.input_names).run(inputs)
    return dict(zip(signature.output_names, outs, strict=True))


def pte_timer(path: Path, inputs: Mapping[str, np.ndarray], signature: Signature,
              threads: int) -> Timer:
    """A timer for the program, fed like the ONNX timers (batch-1 rows, batches of 64).
    XNNPACK sizes its own thread pool; `threads` is recorded, not applied."""
    import torch

    from kiln.compress.timing import LATENCY_BATCH, THROUGHPUT_BATCH, Timer, batches

    runner = PteRunner(path, signature.input_names)
    names = signature.input_names

    def tensors(feeds: list[dict[str, np.ndarray]]) -> list[list[Any]]:
        return [[torch.from_numpy(np.ascontiguousarray(f[n])) for n in names] for f in feeds]

    return Timer(runner.call, tensors(batches(inputs, LATENCY_BATCH, 256)),
                 tensors(batches(inputs, THROUGHPUT_BATCH, 32)), threads)
