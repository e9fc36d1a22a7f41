"""Compression: ONNX export with a parity check, int8 quantization, structured pruning,
distillation, and `compress(run)` that measures every variant and picks one under budgets.

Heavy libraries (torch, ONNX Runtime, torch-pruning) are imported by the functions that
need them; importing this package is cheap.
"""

from __future__ import annotations

from kiln.compress.onnx_export import (
    Parity,
    ParityError,
    check_parity,
    ort_session,
    run_onnx,
)
from kiln.compress.selection import Variant, select_variant
from kiln.compress.stage import VARIANTS_FILE, CompressionResult, compress, load_variants
from kiln.model.onnx_export import export_onnx

__all__ = [
    "VARIANTS_FILE",
    "CompressionResult",
    "Parity",
    "ParityError",
    "Variant",
    "check_parity",
    "compress",
    "export_onnx",
    "load_variants",
    "ort_session",
    "run_onnx",
    "select_variant",
]
