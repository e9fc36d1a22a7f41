"""The one place an ONNX Runtime session is made: the bundle reader, the service, export's
profile and compression's measurements all call `ort_session`, so every model kiln runs is
run with the same options."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kiln.errors import BundleError

if TYPE_CHECKING:
    import onnxruntime as ort


def ort_session(model: bytes | str | Path, *, threads: int | None = None,
                where: str | Path | None = None) -> ort.InferenceSession:
    """A CPU session for `model` (ONNX bytes or a path).

    `threads`: intra-op threads (None: ONNX Runtime's default); one inter-op thread, every
    graph optimisation, warnings about unused initialisers silenced. With `where` (the
    bundle or file the model came from), a model ONNX Runtime cannot load raises
    `BundleError` naming it; without, ONNX Runtime's own error propagates.
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    source = model if isinstance(model, bytes) else str(model)
    try:
        return ort.InferenceSession(source, sess_options=options,
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types for a bad model
        if where is None:
            raise
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise BundleError(f"bundle {where}: ONNX Runtime cannot load model.onnx ({first})",
                          where=str(where)) from None
