"""Check a bundle's ONNX graph against its own signature.json, before anything runs.

A `model.onnx` from another model, with a manifest made consistent, would otherwise load
and fail only at predict time with ONNX Runtime's own error. `check_graph` compares the
session's inputs and outputs (names, element types, per-sample shapes) with the signature
and raises `BundleError` naming the first mismatch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiln.errors import BundleError

if TYPE_CHECKING:
    import onnxruntime as ort

ONNX_TYPES = {"float32": "tensor(float)", "int64": "tensor(int64)"}
REEXPORT = "re-export the run with `kiln export`"


def check_graph(session: ort.InferenceSession, signature: Mapping[str, Any],
                where: Path | str) -> None:
    """Raise `BundleError` unless the graph's inputs and outputs match `signature`."""
    expected_inputs = {s["name"]: (ONNX_TYPES.get(s["dtype"], s["dtype"]), list(s["shape"]))
                       for s in signature["inputs"]}
    expected_outputs = {o["name"]: ("tensor(float)", [int(o["size"])])
                        for o in signature["outputs"]}
    _compare("input", session.get_inputs(), expected_inputs, where)
    _compare("output", session.get_outputs(), expected_outputs, where)


def _compare(kind: str, actual: Sequence[Any], expected: Mapping[str, tuple[str, list[int]]],
             where: Path | str) -> None:
    found = {node.name: node for node in actual}
    if set(found) != set(expected):
        raise BundleError(f"bundle {where}: model.onnx has {kind}s {sorted(found)}, "
                          f"signature.json says {sorted(expected)} — the model does not "
                          f"belong to this bundle; {REEXPORT}", where="model.onnx")
    for name, (dtype, shape) in expected.items():
        node = found[name]
        if node.type != dtype:
            raise BundleError(f"bundle {where}: model.onnx {kind} {name!r} is {node.type}, "
                              f"signature.json says {dtype}; {REEXPORT}", where="model.onnx")
        per_sample = list(node.shape[1:])  # the first axis is the batch
        if len(per_sample) != len(shape) or any(
                isinstance(d, int) and d != s for d, s in zip(per_sample, shape, strict=True)):
            raise BundleError(f"bundle {where}: model.onnx {kind} {name!r} has shape "
                              f"{list(node.shape)}, signature.json says "
                              f"{['batch', *shape]}; {REEXPORT}", where="model.onnx")
