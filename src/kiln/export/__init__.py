"""`kiln export`: a trained run (or one of its compressed variants) → a production bundle.

The bundle *format* (manifest, reader, fields, profile) lives in `kiln.bundle`, torch-free;
this package writes it, and needs the run, its data and (for fp32) torch.
"""

from __future__ import annotations

from kiln.export.bundle import export, write_bundle

__all__ = ["export", "write_bundle"]
