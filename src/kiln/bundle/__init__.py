"""The production bundle format: ONNX model + preprocessing + signature + profile +
metrics + blueprint, with a manifest of SHA-256 hashes that loading verifies.

`load`, `verify` and `Bundle` need NumPy and ONNX Runtime only — importing this package and
predicting with a bundle never imports torch, pandas or MLflow. Writing a bundle is the
export stage's job (`kiln.export.export`).
"""

from __future__ import annotations

from kiln.bundle.manifest import REQUIRED_FILES, read_files, verify
from kiln.bundle.reader import Bundle, load

__all__ = ["REQUIRED_FILES", "Bundle", "load", "read_files", "verify"]
