"""Content hashes of table rows: the data fingerprint of a run and the leakage check.

A cell's hash depends on its value only (never on memory addresses or the process): scalar
columns use pandas' seeded `hash_pandas_object`, array cells (images in a table) hash
their bytes, dtype and shape, and image paths hash the file's bytes — so a table moved to
another folder keeps its fingerprint.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from kiln.data.splits import SplitIndices


def _digest64(payload: bytes) -> int:
    return int.from_bytes(hashlib.sha256(payload).digest()[:8], "little")


def _cell_digest(value: Any, image_path: bool) -> int:
    if isinstance(value, np.ndarray):
        head = f"{value.dtype.str}{value.shape}".encode()
        return _digest64(head + np.ascontiguousarray(value).tobytes())
    if image_path and isinstance(value, str) and Path(value).is_file():
        return _digest64(b"file:" + Path(value).read_bytes())
    return _digest64(repr(value).encode())


def column_hashes(frame: pd.DataFrame, column: str, *, image_path: bool = False) -> np.ndarray:
    """(N,) uint64: one content hash per cell of `column`."""
    import pandas as pd

    series = frame[column]
    first = next((v for v in series if v is not None), None)
    if series.dtype == object and (isinstance(first, np.ndarray) or image_path):
        return np.array([_cell_digest(v, image_path) for v in series], dtype=np.uint64)
    try:
        return pd.util.hash_pandas_object(series, index=False).to_numpy(np.uint64)
    except TypeError:  # unhashable cells (lists, dicts): hash their text
        return np.array([_cell_digest(v, False) for v in series], dtype=np.uint64)


def table_hashes(frame: pd.DataFrame, image_columns: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """Column name → (N,) uint64 cell hashes, for every column of the table."""
    return {str(c): column_hashes(frame, str(c), image_path=c in image_columns)
            for c in frame.columns}


def row_hashes(hashes: dict[str, np.ndarray], columns: Sequence[str]) -> np.ndarray:
    """(N,) uint64: one hash per row over `columns` (their order matters)."""
    n = len(next(iter(hashes.values()))) if hashes else 0
    combined = np.zeros(n, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for position, column in enumerate(columns):
            # mix the position in so that swapping two columns changes the row hash
            mixed = hashes[column] + np.uint64(position)
            combined = (combined * np.uint64(1099511628211)) ^ mixed
    return combined


def fingerprint(hashes: dict[str, np.ndarray], split: SplitIndices, seed: int) -> str:
    """SHA-256 over every column of the loaded table, the split indices and the seed."""
    digest = hashlib.sha256()
    n = len(next(iter(hashes.values()))) if hashes else 0
    digest.update(f"rows={n};seed={seed}".encode())
    for column, cells in hashes.items():
        digest.update(f"column={column}".encode())
        digest.update(cells.tobytes())
    for name, rows in split.named().items():
        digest.update(f"split={name}".encode())
        digest.update(np.asarray(rows, dtype=np.int64).tobytes())
    return digest.hexdigest()
