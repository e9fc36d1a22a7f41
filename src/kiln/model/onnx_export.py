"""Export a built model to ONNX: the TorchScript exporter, named inputs and outputs, a
dynamic batch axis, one self-contained file. Compression (every variant), export (the
bundle's fp32 model) and tune (the `onnx_size` objective) all export through here."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from kiln.errors import KilnError
from kiln.files import atomic_path

if TYPE_CHECKING:
    from torch import nn

    from kiln.model.signature import Signature

DEFAULT_OPSET = 17


def export_onnx(model: nn.Module, signature: Signature, path: str | Path, *,
                opset: int = DEFAULT_OPSET) -> Path:
    """Export `model` (put in eval mode) to a single-file ONNX model at `path`, atomically.

    Inputs and outputs are named after `signature`; axis 0 of each is a dynamic `batch`.
    Raises `KilnError` when the TorchScript-based exporter cannot trace the model.
    """
    import onnx
    import torch

    from kiln.model.measure import example_batch

    path = Path(path)
    model.eval()
    batch = tuple(example_batch(signature, 2))
    names_in, names_out = signature.input_names, signature.output_names
    axes = {name: {0: "batch"} for name in (*names_in, *names_out)}
    with atomic_path(path) as tmp:
        try:
            with _no_fastpath(), warnings.catch_warnings():
                # dynamo=False on purpose: the TorchScript exporter is the one that handles
                # every block kiln builds today; its deprecation notice is not for our users.
                warnings.simplefilter("ignore", DeprecationWarning)
                torch.onnx.export(model, batch, str(tmp), input_names=names_in,
                                  output_names=names_out, dynamic_axes=axes,
                                  opset_version=opset, do_constant_folding=True, dynamo=False)
        except Exception as exc:  # the exporter raises many types; all mean "cannot export"
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise KilnError(f"ONNX export of {type(model).__name__} failed at opset {opset}: "
                            f"{type(exc).__name__}: {first} — a custom block may use an "
                            f"operation ONNX lacks; try another opset or rewrite it") from None
        proto = onnx.load(str(tmp))  # re-save as one file: no external-data side files
        onnx.save_model(proto, str(tmp), save_as_external_data=False)
    return path


@contextmanager
def _no_fastpath() -> Iterator[None]:
    """Attention and transformer layers in eval mode take a fused "fast path"
    (`aten::_native_multi_head_attention`) that ONNX cannot express; export the plain path."""
    import torch

    mha = getattr(torch.backends, "mha", None)
    before = mha.get_fastpath_enabled() if mha is not None else None
    if mha is not None:
        mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        if mha is not None:
            mha.set_fastpath_enabled(before)
