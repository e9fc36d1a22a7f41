"""The production bundle: ONNX model + preprocessing + signature + profile + metrics +
blueprint, with a manifest of SHA-256 hashes that loading verifies.

`load`, `verify` and `Bundle` need NumPy and ONNX Runtime only — importing this package and
predicting with a bundle never imports torch, pandas or MLflow. `export` (which needs the
trained run, and torch for the fp32 model) imports them when called.
"""

from __future__ import annotations

from kiln.bundle.export import export, write_bundle
from kiln.bundle.manifest import REQUIRED_FILES, read_files, verify
from kiln.bundle.reader import Bundle, load

__all__ = ["REQUIRED_FILES", "Bundle", "export", "load", "read_files", "verify", "write_bundle"]
