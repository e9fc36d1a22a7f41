"""Non-finite numbers (±inf, and NaN inside a value): one check and one policy.

A numeric column read from a file may hold `inf` / `-inf` (pandas parses them as numbers).
Nothing downstream can use them: a scaler fitted on them has an infinite centre, the loss
is NaN from the first batch and the run "finishes" at chance accuracy. So the data stage
counts them per column and applies `data.non_finite`:

    error    (default) the check is an error naming the column and the rows
    impute   the value becomes missing, and the feature's `missing` policy applies
             (impute fills it like a NaN, drop drops the row, error stops)
    clip     +inf becomes the column's largest finite value, -inf its smallest

A target with a non-finite value is always an error: there is nothing to learn from it.
The same policy travels in preprocessing.json, so a bundle treats a non-finite value sent
by a client the same way (see docs/bundle.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.data.prepared import CheckResult

if TYPE_CHECKING:
    import pandas as pd

    from kiln.blueprint.schema import FeatureSpec, TaskSpec

POLICIES = ("error", "impute", "clip")
# A regression target beyond this cannot be answered in float32 (max 3.4e38) with headroom
# for predictions a few million standard deviations out.
TARGET_LIMIT = 1e32
FIX = "fix the values, or set data.non_finite: impute (treat as missing) or clip"


def infinite_mask(values: Any) -> np.ndarray:
    """(N,) bool: +inf or -inf in a column of numbers (Series or array); False elsewhere."""
    array = values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values)
    if array.dtype.kind in "fc":
        return np.isinf(array).reshape(len(array))
    if array.dtype.kind != "O":
        return np.zeros(len(array), dtype=bool)
    return np.array([isinstance(v, (float, np.floating)) and bool(np.isinf(v))
                     for v in array], dtype=bool)


def _rows(rows: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(r) + 1) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def _numeric_targets(task: TaskSpec) -> list[str]:
    return [c for t in task.targets if t.type != "classification" for c in t.source_columns]


def check_non_finite(frame: pd.DataFrame, features: Sequence[FeatureSpec], task: TaskSpec,
                     policy: str) -> list[CheckResult]:
    """One row per column with ±inf (count, rows, what the policy does), or one ok row.

    Numeric features follow `policy`; a numeric target with ±inf is always an error.
    """
    results = []
    for feature in features:
        if feature.type != "numeric":
            continue
        rows = np.flatnonzero(infinite_mask(frame[feature.name]))
        if len(rows) == 0:
            continue
        said = f"{feature.name!r}: {len(rows)} non-finite value(s) (±inf) at row {_rows(rows)}"
        if policy == "error":
            results.append(CheckResult("non-finite", "error",
                                       f"{said} — {FIX}"))
        else:
            action = ("treated as missing" if policy == "impute"
                      else "clipped to the column's finite range")
            results.append(CheckResult("non-finite", "warning", f"{said}; {action}"))
    for column in _numeric_targets(task):
        if column not in frame.columns:
            continue
        try:
            rows = np.flatnonzero(infinite_mask(frame[column].astype(np.float64)))
        except (TypeError, ValueError):
            continue  # not numbers: the target encoder names the bad value
        if len(rows):
            results.append(CheckResult("non-finite", "error",
                                       f"target {column!r}: {len(rows)} non-finite value(s) "
                                       f"(±inf) at row {_rows(rows)} — fix or remove those "
                                       f"rows"))
            continue
        values = frame[column].to_numpy(dtype=np.float64)
        huge = np.flatnonzero(np.abs(np.nan_to_num(values)) > TARGET_LIMIT)
        if len(huge):
            results.append(CheckResult("non-finite", "error",
                                       f"target {column!r}: {len(huge)} value(s) beyond "
                                       f"±{TARGET_LIMIT:.0e} at row {_rows(huge)} — answers are "
                                       f"float32 and would overflow; rescale the column "
                                       f"(divide it, or take a log)"))
    return results or [CheckResult("non-finite", "ok", "no infinite values")]


def resolve_non_finite(frame: pd.DataFrame, features: Sequence[FeatureSpec],
                       policy: str) -> pd.DataFrame:
    """Apply `impute` (±inf → NaN) or `clip` (→ the column's finite min / max) to the
    numeric features; `error` changes nothing (the check has stopped the run already)."""
    if policy == "error":
        return frame
    changed = None
    for feature in features:
        if feature.type != "numeric":
            continue
        mask = infinite_mask(frame[feature.name])
        if not mask.any():
            continue
        if changed is None:
            changed = frame.copy()
        values = changed[feature.name].to_numpy(dtype=np.float64, copy=True)
        if policy == "impute":
            values[mask] = np.nan
        else:
            values = clip_to_finite(values)
        changed[feature.name] = values
    return frame if changed is None else changed


def clip_to_finite(values: np.ndarray) -> np.ndarray:
    """+inf → the largest finite value, -inf → the smallest (0 when there is none)."""
    finite = values[np.isfinite(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    return np.where(values == np.inf, high, np.where(values == -np.inf, low, values))


def check_scaled(inputs: dict[str, np.ndarray], groups: dict[str, list[str]],
                 rows: np.ndarray) -> None:
    """Raise `DataError` for a finite value that overflows float32 once scaled (1e300 when
    training saw values near 1): it would reach the model as inf. `groups`: model input →
    its feature names (`Preprocessor.inputs`); `rows`: table positions of the split's rows."""
    from kiln.errors import DataError

    for name, array in inputs.items():
        if array.dtype.kind != "f":
            continue
        bad = ~np.isfinite(array.reshape(len(array), -1))  # (N, F)
        if bad.any():
            row, column = (int(i) for i in np.argwhere(bad)[0])
            features = groups.get(name, [name])
            feature = features[column] if len(features) > 1 else features[0]
            raise DataError(f"column {feature!r}, row {int(rows[row]) + 1}: the value is too "
                            f"large in magnitude for the model once scaled (beyond float32) "
                            f"— fix it, or remove the row", where=feature)
