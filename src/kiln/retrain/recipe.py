"""The data recipe: the challenger's training table and the fresh holdout.

    original train rows ─┐                                   ┌─► train   (challenger)
    new labelled rows ───┼─ holdout share ─► fresh holdout ──┼─► test    (judges both)
    original val rows ───┘   rest: val share + train         └─► val     (early stopping)

New labelled rows come from a `--new-data` file (CSV, Parquet, ...) or from the prediction
log (logged inputs joined with their feedback label). A seeded share of them becomes the
fresh holdout: the champion never saw it (it predates it) and the challenger does not train
on it. The rest is split like the blueprint's own split into validation and training rows;
training rows are capped at `max_new_share` of the challenger's training set (the most
recent kept). The original test rows stay out: they were the champion's test.

The table is written once as `.npz` under `$KILN_HOME/retrain/<trigger id>/` with a split
column, and the challenger's blueprint points at it with a `time` split on that column, so
every later stage that prepares the run's data again (`run.data()` in evaluate, compress,
export) gets exactly these rows and this split.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.blueprint.retrain_spec import RecipeSpec
from kiln.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from kiln.blueprint.schema import Blueprint

SPLIT_COLUMN = "__kiln_retrain_split"  # 0 train, 1 validation, 2 fresh holdout
TRAIN, VAL, HOLDOUT = 0, 1, 2


@dataclass
class Recipe:
    """The challenger's data: its blueprint (pointing at `table`), counts and holdout."""

    blueprint: Blueprint
    table: Path
    fingerprint: str
    counts: dict[str, int]
    holdout: pd.DataFrame  # the fresh holdout rows, raw (feature and target columns)
    sources: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"table": str(self.table), "fingerprint": self.fingerprint,
                "counts": self.counts, "sources": self.sources}


def build(blueprint: Blueprint, new_rows: pd.DataFrame, spec: RecipeSpec, *,
          folder: Path, sources: list[str], base: Blueprint | None = None) -> Recipe:
    """Assemble the table from the original data and `new_rows` (raw feature and target
    columns, oldest first), write it to `folder/data.npz` and return the recipe.

    `base`: the blueprint whose training and validation rows are the original data — the
    champion's own when it came from an earlier retrain, so that each retrain keeps the
    rows the last one added (default: `blueprint`). Raises `DataError` when the new rows
    miss a column or leave fewer fresh holdout rows than `spec.min_holdout_rows`."""
    import pandas as pd

    from kiln.data import prepare_data
    from kiln.data.stage import drop_incomplete_rows

    original = prepare_data(base or blueprint)
    targets = [c for t in blueprint.task.targets for c in t.source_columns]
    columns = [f.name for f in original.features] + targets
    frame = original.table
    new = conform(new_rows, frame, columns, sources)
    new = drop_incomplete_rows(new, original.features, targets)
    images = [f.name for f in original.features if f.type == "image"]
    new, copies = drop_known_rows(new, frame, columns, images)
    parts, counts = _assign(len(new), original.train.index, original.val.index, spec,
                            blueprint, include_original=spec.include_original)
    counts["copies_dropped"] = copies
    pieces = [frame.iloc[rows][columns].assign(**{SPLIT_COLUMN: tag})
              for tag, rows in parts["original"]]
    pieces += [new.iloc[rows][columns].assign(**{SPLIT_COLUMN: tag})
               for tag, rows in parts["new"]]
    table = pd.concat(pieces, ignore_index=True)
    path = folder / "data.npz"
    fingerprint = write_table(table, path)
    total = len(table)
    challenger = blueprint.model_copy(deep=True)
    challenger.set_source(blueprint.path)
    challenger.data.source = str(path.resolve())
    challenger.data.features = list(original.features)
    challenger.data.ignore = []
    challenger.data.slices = []
    challenger.data.split = type(blueprint.data.split)(
        method="time", column=SPLIT_COLUMN, test=counts["holdout"] / total,
        val=(counts["original_val"] + counts["new_val"]) / total)
    holdout = table[table[SPLIT_COLUMN] == HOLDOUT][columns].reset_index(drop=True)
    return Recipe(challenger, path, fingerprint, counts, holdout, sources)


def conform(new_rows: pd.DataFrame, original: pd.DataFrame, columns: list[str],
            sources: list[str]) -> pd.DataFrame:
    """The new rows with the original's columns, values cast to the original's types."""
    missing = [c for c in columns if c not in new_rows.columns]
    if missing:
        raise DataError(f"{', '.join(sources) or 'new data'}: no column "
                        f"{', '.join(repr(c) for c in missing)} — new rows need every "
                        f"feature and target column of the blueprint", where=missing[0])
    out = new_rows[columns].reset_index(drop=True).copy()
    for name in columns:
        kind = original[name].dtype.kind
        if (kind in "iub" and out[name].dtype.kind not in "iub") or \
                (kind == "f" and out[name].dtype.kind != "f"):
            out[name] = [_cast(v, kind, name) for v in out[name]]
        elif kind in "OSU":
            out[name] = [v if isinstance(v, (list, np.ndarray)) or v is None else str(v)
                         for v in out[name]]
    return out


def drop_known_rows(new: pd.DataFrame, original: pd.DataFrame, columns: list[str],
                    images: list[str]) -> tuple[pd.DataFrame, int]:
    """The new rows without exact copies (features and targets) of an original row or of
    an earlier new row: they add nothing to training, and in the holdout they would
    inflate a score (the data checks refuse such leakage). Returns (rows, copies)."""
    from kiln.data.hashing import row_hashes, table_hashes

    def hashes(frame: pd.DataFrame) -> list[int]:
        cells = frame[columns].copy()
        for name in images:  # arrays and nested lists of the same pixels hash alike
            cells[name] = [np.asarray(v, dtype=np.float32) for v in cells[name]]
        return [int(h) for h in row_hashes(table_hashes(cells), columns)]

    known = set(hashes(original))
    keep = []
    for position, digest in enumerate(hashes(new)):
        if digest not in known:
            keep.append(position)
            known.add(digest)
    return new.iloc[keep].reset_index(drop=True), len(new) - len(keep)


def _cast(value: Any, kind: str, column: str) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    text = str(value).strip().lower()
    try:
        if kind == "b":
            return text in ("true", "1", "yes")
        number = float(text)
        return int(number) if kind in "iu" and number.is_integer() else number
    except ValueError:
        raise DataError(f"new rows: column {column!r} holds {value!r}, which is not a number "
                        f"like the original data's", where=column) from None


def _assign(n_new: int, train: np.ndarray, val: np.ndarray, spec: RecipeSpec,
            blueprint: Blueprint, *, include_original: bool) -> tuple[dict[str, Any],
                                                                       dict[str, int]]:
    """Row positions per split tag for the original and the new rows, and the counts."""
    n_holdout = round(spec.holdout * n_new)
    if n_holdout < spec.min_holdout_rows:
        raise DataError(f"{n_new} new labelled rows give a fresh holdout of {n_holdout} rows, "
                        f"fewer than retrain.data.min_holdout_rows ({spec.min_holdout_rows}) "
                        f"— wait for more labelled rows or lower it", where="new rows")
    order = np.random.default_rng(blueprint.seed).permutation(n_new)
    holdout = np.sort(order[:n_holdout])
    rest = np.sort(order[n_holdout:])  # oldest first
    n_val = round(blueprint.data.split.val * len(rest))
    new_val = np.sort(np.random.default_rng(blueprint.seed + 1).permutation(rest)[:n_val])
    new_train = np.setdiff1d(rest, new_val)
    if not include_original:
        train, val = train[:0], val[:0]
    cap = _cap(len(train), len(new_train), spec.max_new_share)
    dropped = len(new_train) - cap
    new_train = new_train[len(new_train) - cap:]  # the most recent rows stay
    if len(train) + len(new_train) == 0:
        raise DataError("no training rows: every new row went to the holdout and validation "
                        "— add rows or set retrain.data.include_original: true")
    counts = {"original_train": len(train), "original_val": len(val),
              "new": n_new, "new_train": len(new_train), "new_val": len(new_val),
              "holdout": n_holdout, "dropped_by_cap": dropped}
    parts = {"original": [(TRAIN, train), (VAL, val)],
             "new": [(TRAIN, new_train), (VAL, new_val), (HOLDOUT, holdout)]}
    return parts, counts


def _cap(n_original: int, n_new: int, share: float) -> int:
    """How many new training rows keep them at most `share` of the training rows."""
    if share >= 1 or n_original == 0:
        return n_new
    return min(n_new, int(share * n_original / (1 - share)))


def write_table(table: pd.DataFrame, path: Path) -> str:
    """Write `table` as .npz (no pickle: numbers, fixed-width text, stacked arrays)
    atomically; returns its SHA-256, the data fingerprint of the retrain."""
    from kiln.files import atomic_path, sha256_file

    arrays: dict[str, np.ndarray] = {}
    for name in table.columns:
        values = table[name].tolist()
        if any(isinstance(v, (list, tuple, np.ndarray)) for v in values):
            arrays[str(name)] = np.stack([np.asarray(v, dtype=np.float32) for v in values])
        elif table[name].dtype.kind in "iufb":
            arrays[str(name)] = table[name].to_numpy()
        else:
            arrays[str(name)] = np.array(["" if v is None else str(v) for v in values])
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, **arrays)  # type: ignore[arg-type]
    return sha256_file(path)
