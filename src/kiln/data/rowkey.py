"""Row keys of a streamed table: a 64-bit hash of each row's values, and the split it
falls in — computed batch by batch, so a split is known without loading the table.

The key of a row hashes its feature values (or, for `split.method: group`, the group
column alone). Rows with identical features therefore share a key and land in the same
split: kiln's default duplicate policy (`data.duplicates: group`) holds by construction.
The key is mixed with the blueprint's seed, then read as a number u in [0, 1):

    u < test               → test
    u < test + val         → validation
    otherwise              → train
    kfold, fold k          → test when floor(u · folds) = k; validation from the rest by a
                             second draw of the same key

Same values + same seed → same split on any machine, in any batch order.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

import numpy as np

from kiln.errors import DataError

if TYPE_CHECKING:
    import pyarrow as pa

    from kiln.blueprint.schema import SplitSpec

TRAIN, VAL, TEST = 0, 1, 2
SPLIT_NAMES = ("train", "val", "test")
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_NULL = np.uint64(0x6A09E667F3BCC909)  # the key part of a missing value
_CANONICAL_NAN = np.float64("nan").view(np.uint64)


def mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser, elementwise on uint64 (wraps modulo 2**64 by design)."""
    x = x.astype(np.uint64, copy=True)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def column_key(array: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """(N,) uint64 hash of one column's values; equal values hash equal, nulls alike."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    kind = array.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind):
        x = pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False).astype(np.float64)
        x = x + 0.0  # -0.0 → 0.0: equal numbers, equal keys
        bits = x.view(np.uint64).copy()
        bits[np.isnan(x)] = _CANONICAL_NAN
        return mix(bits)
    if pa.types.is_dictionary(kind):
        array = array.dictionary_decode()
    encoded = pc.dictionary_encode(pc.cast(array, pa.string()))
    words = encoded.dictionary.to_pylist()
    table = np.array([int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(),
                                     "little") for w in words] or [0], dtype=np.uint64)
    ids = encoded.indices.to_numpy(zero_copy_only=False)
    valid = ~np.asarray(encoded.indices.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    out = np.full(len(ids), _NULL, dtype=np.uint64)
    out[valid] = table[ids[valid].astype(np.int64)]
    return out


def row_keys(batch: pa.RecordBatch | pa.Table, columns: list[str], seed: int) -> np.ndarray:
    """(N,) uint64 key of each row over `columns` (order matters), mixed with `seed`."""
    key = mix(np.full(batch.num_rows, np.uint64(seed % 2**64), dtype=np.uint64))
    for i, name in enumerate(columns):
        part = column_key(batch.column(name))
        key = mix(key * _GOLDEN + part + np.uint64(i))
    return key


def unit(key: np.ndarray, salt: int = 0) -> np.ndarray:
    """(N,) float64 in [0, 1): a uniform draw determined by each key (and `salt`)."""
    return (mix(key ^ np.uint64(salt)) >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def assign_splits(keys: np.ndarray, spec: SplitSpec, fold: int | None = None) -> np.ndarray:
    """(N,) uint8: TRAIN, VAL or TEST per row key, following `spec` (see the module doc)."""
    u = unit(keys)
    out = np.full(len(keys), TRAIN, dtype=np.uint8)
    if fold is not None or spec.method == "kfold":
        k = fold or 0
        if not 0 <= k < spec.folds:
            raise DataError(f"fold: {k} is out of range — split.folds is {spec.folds}, so "
                            f"folds are 0..{spec.folds - 1}")
        test = np.floor(u * spec.folds).astype(np.int64) == k
        val_share = spec.val / (1.0 - 1.0 / spec.folds)  # val is a share of all rows
        out[~test & (unit(keys, salt=1) < val_share)] = VAL
        out[test] = TEST
        return out
    out[u < spec.test + spec.val] = VAL
    out[u < spec.test] = TEST
    return out


def key_columns(spec: SplitSpec, features: list[str], key: list[str] | None = None
                ) -> list[str]:
    """What a row key hashes: the group column for `group`, else `data.stream.key`, else the
    features.
    Raises `DataError` for `time`, which needs the whole column sorted."""
    if spec.method == "time":
        raise DataError("data.split.method: time needs every row sorted by time, which a "
                        "streamed table cannot do — use holdout, stratified, kfold or group, "
                        "or set data.streaming: false", where="data.split.method")
    if spec.method == "group":
        assert spec.column is not None  # the schema requires it
        return [spec.column]
    return list(key) if key else features
