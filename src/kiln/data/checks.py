"""Checks before training: each returns `CheckResult`s (ok / warning / error) for one table.

    schema       declared feature and target columns present, types parse (bad ones raise
                 `DataError` at once: nothing else can run without them)
    missing      missing values per column and what the feature's policy does with them;
                 `missing: error` with a missing value is an error naming the rows
    constant     a feature with a single value carries no signal (warning)
    balance      largest / smallest class above 10:1 (warning)
    class sizes  a class with fewer rows than there are splits (error)
    labels       a class that appears in val/test but not in train (error)
    leakage      val/test rows whose features also appear in train (warning with the
                 count); error when more than 5% of a split are exact copies of training
                 rows, features and target alike — its score would be inflated (copies in
                 the source table are grouped first: `kiln.data.duplicates`)

`raise_on_errors` raises `ChecksFailed` (a `DataError` listing every error) after the
whole table is built, so the CLI can still show it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.data.prepared import CheckResult
from kiln.data.transforms import as_text, is_missing, missing_of
from kiln.errors import ChecksFailed

if TYPE_CHECKING:
    import pandas as pd
    from rich.table import Table

    from kiln.blueprint.schema import FeatureSpec, SplitSpec, TaskSpec
    from kiln.data.splits import SplitIndices

IMBALANCE_RATIO = 10.0  # largest / smallest class count that triggers a warning
LEAKAGE_ERROR_SHARE = 0.05  # share of exact train copies in val/test that stops a run


def _rows(rows: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(r) + 1) for r in rows[:limit])
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def missing_mask(values: Any) -> np.ndarray:
    """(N,) bool for a column (Series or array): None, NaN, NA."""
    return missing_of(values.to_numpy() if hasattr(values, "to_numpy") else np.asarray(values))


def check_missing(frame: pd.DataFrame, features: Sequence[FeatureSpec],
                  target_columns: Sequence[str]) -> list[CheckResult]:
    """One row per column with missing values (level from its policy), or one ok row."""
    results = []
    for feature in features:
        mask = missing_mask(frame[feature.name])
        if not mask.any():
            continue
        rows = np.flatnonzero(mask)
        if feature.missing == "error":
            results.append(CheckResult("missing", "error",
                                       f"{feature.name!r}: missing at row {_rows(rows)} and "
                                       f"the feature says missing: error — fill the values or "
                                       f"set missing: impute / drop"))
        else:
            action = ("rows dropped" if feature.missing == "drop"
                      else f"imputed ({feature.impute})" if feature.type == "numeric"
                      else "imputed")
            results.append(CheckResult("missing", "warning",
                                       f"{feature.name!r}: {len(rows)} missing ({action})"))
    for column in target_columns:
        count = int(missing_mask(frame[column]).sum())
        if count:
            results.append(CheckResult("missing", "warning",
                                       f"target {column!r}: {count} rows without a value "
                                       f"dropped"))
    return results or [CheckResult("missing", "ok", "no missing values")]


def check_types(frame: pd.DataFrame, features: Sequence[FeatureSpec]) -> list[CheckResult]:
    """Values that cannot be what the feature declares (numbers are parsed at load time)."""
    results = []
    for feature in features:
        if feature.type != "binary":
            continue
        levels = sorted({as_text(v) for v in frame[feature.name] if not is_missing(v)})
        if len(levels) > 2 and not set(levels) <= {"0", "1", "false", "true"}:
            results.append(CheckResult("schema", "error",
                                       f"{feature.name!r} is declared binary but has "
                                       f"{len(levels)} values ({', '.join(levels[:4])}, ...) "
                                       f"— declare type: categorical"))
    return results


def check_constant(features: Sequence[FeatureSpec],
                   hashes: dict[str, np.ndarray]) -> list[CheckResult]:
    constant = [f.name for f in features if len(np.unique(hashes[f.name])) <= 1]
    if constant:
        return [CheckResult("constant", "warning",
                            f"{', '.join(repr(c) for c in constant)}: a single value in every "
                            f"row — no signal; remove it or add it to data.ignore")]
    return [CheckResult("constant", "ok", "no constant features")]


def class_counts(values: Any) -> dict[str, int]:
    texts = [as_text(v) for v in values if not is_missing(v)]
    labels, counts = np.unique(np.array(texts, dtype=object).astype(str), return_counts=True)
    return {str(label): int(c) for label, c in zip(labels, counts, strict=True)}


def check_classes(frame: pd.DataFrame, task: TaskSpec, split: SplitSpec) -> list[CheckResult]:
    """Class balance (warning above 10:1) and enough rows per class for every split."""
    results = []
    needed = 1 + int(split.val > 0) + int(split.test > 0)
    for target in task.targets:
        if target.type != "classification":
            continue
        counts = class_counts(frame[target.source_columns[0]])
        if not counts:
            continue
        if len(counts) == 1:  # nothing to tell apart; the balance line below would say 1:1
            results.append(CheckResult("classes", "error",
                                       f"target {target.name!r} has one class "
                                       f"({next(iter(counts))!r}) — a classifier needs at "
                                       f"least two; check the target column, or choose "
                                       f"another target"))
            continue
        small = {label: c for label, c in counts.items() if c < needed}
        if small:
            listed = ", ".join(f"{label!r} ({c})" for label, c in sorted(small.items()))
            results.append(CheckResult("class sizes", "error",
                                       f"target {target.name!r}: class {listed} has fewer rows "
                                       f"than the {needed} splits need — add rows or remove "
                                       f"the class"))
        if target.num_classes and target.num_classes != len(counts):
            results.append(CheckResult("classes", "warning",
                                       f"target {target.name!r}: the blueprint declares "
                                       f"num_classes: {target.num_classes}, the data has "
                                       f"{len(counts)} — the model is sized from the data"))
        ratio = max(counts.values()) / min(counts.values())
        biggest, least = max(counts, key=counts.__getitem__), min(counts, key=counts.__getitem__)
        level = "warning" if ratio > IMBALANCE_RATIO else "ok"
        hint = " — consider training.class_weights: balanced" if level == "warning" else ""
        spread = (f"{counts[biggest]} rows in every class" if ratio == 1 else
                  f"largest {biggest!r} {counts[biggest]} vs smallest {least!r} "
                  f"{counts[least]} ({ratio:.1f}:1)")
        results.append(CheckResult("balance", level,
                                   f"target {target.name!r}: {len(counts)} classes, "
                                   f"{spread}{hint}"))
    return results


def check_split_labels(frame: pd.DataFrame, task: TaskSpec,
                       split: SplitIndices) -> list[CheckResult]:
    """Every class seen in val or test must be seen in train, or it can never be predicted."""
    results = []
    for target in task.targets:
        if target.type != "classification":
            continue
        column = frame[target.source_columns[0]].to_numpy()
        train = set(class_counts(column[split.train]))
        for name, rows in (("validation", split.val), ("test", split.test)):
            unseen = sorted(set(class_counts(column[rows])) - train)
            if unseen:
                results.append(CheckResult("labels", "error",
                                           f"target {target.name!r}: label "
                                           f"{', '.join(repr(u) for u in unseen)} appears in "
                                           f"the {name} split but not in train — add rows of "
                                           f"it or use a stratified split"))
    return results


def check_leakage(feature_rows: np.ndarray, full_rows: np.ndarray, split: SplitIndices, *,
                  copies_are_errors: bool = True) -> list[CheckResult]:
    """Rows of val/test whose feature hash (or feature+target hash) occurs in train.
    `copies_are_errors=False` (the user chose `data.duplicates: keep`) reports exact
    copies as a warning."""
    train_features = set(feature_rows[split.train].tolist())
    train_full = set(full_rows[split.train].tolist())
    results = []
    for name, rows in (("validation", split.val), ("test", split.test)):
        if len(rows) == 0:
            continue
        shared = sum(1 for h in feature_rows[rows].tolist() if h in train_features)
        exact = sum(1 for h in full_rows[rows].tolist() if h in train_full)
        if exact / len(rows) > LEAKAGE_ERROR_SHARE:
            level = "error" if copies_are_errors else "warning"
            results.append(CheckResult("leakage", level,
                                       f"{exact} of {len(rows)} {name} rows are exact copies "
                                       f"of training rows — the score would be inflated; "
                                       f"set data.duplicates: group (or drop), or use a "
                                       f"group split that keeps copies together"))
        elif shared:
            results.append(CheckResult("leakage", "warning",
                                       f"{shared} of {len(rows)} {name} rows have the same "
                                       f"features as a training row"))
    return results or [CheckResult("leakage", "ok", "no rows shared between splits")]


def raise_on_errors(checks: list[CheckResult]) -> None:
    """Raise `ChecksFailed` listing every error-level check; warnings pass."""
    errors = [c for c in checks if c.level == "error"]
    if errors:
        listed = "; ".join(f"{c.name}: {c.message}" for c in errors)
        raise ChecksFailed(f"data checks failed — {listed}", checks)


def render_checks(checks: Sequence[CheckResult]) -> Table:
    """The checks as one Rich table (check, level, detail)."""
    from rich.markup import escape
    from rich.table import Table

    styles = {"ok": "green", "warning": "yellow", "error": "bold red"}
    table = Table(title="data checks", show_lines=False)
    table.add_column("check")
    table.add_column("level")
    table.add_column("detail", overflow="fold")
    for check in checks:
        style = styles.get(check.level, "")
        table.add_row(check.name, f"[{style}]{check.level}[/]", escape(check.message))
    return table
