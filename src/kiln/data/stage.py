"""`prepare_data`: blueprint → checked, split, preprocessed arrays (`PreparedData`).

    load the source → resolve features (declared or inferred) → checks → split (seeded)
    → fit the preprocessor on train only → transform every split → signature, fingerprint
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.data.cardinality import check_cardinality
from kiln.data.checks import (
    check_classes,
    check_constant,
    check_leakage,
    check_missing,
    check_split_labels,
    check_types,
    missing_mask,
    raise_on_errors,
)
from kiln.data.duplicates import (
    GROUPABLE_METHODS,
    duplicate_check,
    find_duplicates,
    split_by_groups,
)
from kiln.data.finite import check_non_finite, check_scaled, resolve_non_finite
from kiln.data.hashing import fingerprint, row_hashes, table_hashes
from kiln.data.prepared import CheckResult, PreparedData, Split
from kiln.data.preprocessing import Preprocessor
from kiln.data.sources import LoadedTable, load_source, parse_numeric, resolve_image_paths
from kiln.data.splits import SplitIndices, split_rows
from kiln.data.transforms import as_text, natural_image_shape
from kiln.errors import DataError, did_you_mean

if TYPE_CHECKING:
    import pandas as pd

    from kiln.blueprint.schema import Blueprint, FeatureSpec
    from kiln.model.signature import Signature


def prepare_data(blueprint: Blueprint, *, fold: int | None = None,
                 source: str | Path | None = None) -> PreparedData:
    """Load, check, split and preprocess the blueprint's data.

    `source` replaces `data.source` (a relative path then resolves against the working
    directory); `fold=k` makes fold k of `data.split.folds` the test split. Raises
    `DataError` for unreadable or mismatched data, and `ChecksFailed` (a `DataError`
    carrying the whole checks table) when a check is an error.
    """
    from kiln.data.streaming import streaming_source

    streamed = streaming_source(blueprint, source)
    if streamed is not None:  # data.streaming: read in record batches (docs/streaming.md)
        from kiln.data.stream_prepare import prepare_streamed

        return prepare_streamed(blueprint, streamed, fold=fold)
    spec, task = blueprint.data, blueprint.task
    table = load_source(spec.source if source is None else source,
                        blueprint=blueprint if source is None else None,
                        features=spec.features)
    target_columns = [c for t in task.targets for c in t.source_columns]
    require_columns(table, target_columns, "target")
    if spec.split.column:
        require_columns(table, [spec.split.column], "split", "data.split.column")
    require_columns(table, spec.slices, "slice", "data.slices")
    features = resolve_features(blueprint, table, target_columns)

    frame = table.frame
    checks = [schema_check(table, features, target_columns), *check_types(frame, features)]
    checks += check_non_finite(frame, features, task, spec.non_finite)
    frame = resolve_non_finite(frame, features, spec.non_finite)
    checks += check_missing(frame, features, target_columns)
    frame = drop_incomplete_rows(frame, features, target_columns)
    image_columns = [f.name for f in features if f.type == "image"]
    hashes = table_hashes(frame, image_columns)
    names = [f.name for f in features]
    dups = find_duplicates(row_hashes(hashes, names), row_hashes(hashes, names + target_columns))
    checks.append(duplicate_check(dups, spec.duplicates, spec.split.method))
    if spec.duplicates == "drop" and dups.copies:
        frame = frame.iloc[dups.first].reset_index(drop=True)
        hashes = {k: v[dups.first] for k, v in hashes.items()}
    checks += check_constant(features, hashes)
    checks += check_cardinality(frame, features)
    checks += check_classes(frame, task, spec.split)
    raise_on_errors(checks)

    if (spec.duplicates == "group" and dups.copies
            and spec.split.method in GROUPABLE_METHODS):
        split = split_by_groups(dups, spec.split, blueprint.seed,
                                labels=_strata(frame, blueprint), fold=fold)
    else:
        split = split_rows(len(frame), spec.split, blueprint.seed,
                           labels=_strata(frame, blueprint),
                           column=_split_column(frame, spec.split.column), fold=fold)
    checks += check_split_labels(frame, task, split)
    checks += check_leakage(row_hashes(hashes, names),
                            row_hashes(hashes, names + target_columns), split,
                            copies_are_errors=spec.duplicates != "keep")
    raise_on_errors(checks)

    needed = names + target_columns
    preprocessor = Preprocessor(features, task.targets, non_finite=spec.non_finite)
    preprocessor.fit(_columns(frame, needed, split.train))
    splits = {}
    for split_name, rows in split.named().items():
        columns = _columns(frame, needed, rows)
        inputs = preprocessor.transform(columns)
        check_scaled(inputs, preprocessor.inputs, rows)
        splits[split_name] = Split(inputs, preprocessor.transform_targets(columns), rows)
    return PreparedData(
        signature=_signature(blueprint, features, preprocessor),
        features=features, train=splits["train"], val=splits["val"], test=splits["test"],
        preprocessor=preprocessor, fingerprint=fingerprint(hashes, split, blueprint.seed),
        checks=checks, table=frame,
    )


def require_columns(table: LoadedTable, names: list[str], kind: str, key: str = "") -> None:
    """Each name must be a column of the table; otherwise a did-you-mean error. `key` names
    the blueprint setting that asked for the column."""
    columns = [str(c) for c in table.frame.columns]
    asked = f" ({key})" if key else ""
    for name in names:
        if name not in columns:
            raise DataError(f"{table.origin}: no {kind} column {name!r}{asked}"
                            f"{did_you_mean(name, columns)} (columns: {_listed(columns)})")


def _listed(columns: list[str], limit: int = 15) -> str:
    more = f", ... ({len(columns)} in all)" if len(columns) > limit else ""
    return ", ".join(columns[:limit]) + more


def resolve_features(blueprint: Blueprint, table: LoadedTable,
                     target_columns: list[str]) -> list[FeatureSpec]:
    """Declared features (checked against the table) or inferred ones; numeric columns
    parsed, image paths resolved against the table's folder, image shapes filled in."""
    spec = blueprint.data
    if spec.features:
        features = list(spec.features)
        names = [f.name for f in features]
        require_columns(table, names, "feature")
        for i, feature in enumerate(features):
            if feature.name in target_columns:
                raise DataError(f"data.features[{i}]: {feature.name!r} is also a target — a "
                                f"model cannot take its answer as input")
    else:
        from kiln.data.infer import infer_features

        ignore = list(spec.ignore) + ([spec.split.column] if spec.split.column else [])
        features = infer_features(table.frame, target_columns, base_dir=table.base_dir,
                                  ignore=ignore)
        if not features:
            raise DataError(f"{table.origin}: no usable feature columns were found — declare "
                            f"data.features in the blueprint")
    parse_numeric(table, features)
    resolve_image_paths(table, features)
    return [_with_image_shape(f, table) for f in features]


def _with_image_shape(feature: FeatureSpec, table: LoadedTable) -> FeatureSpec:
    if feature.type != "image" or feature.shape is not None:
        return feature
    shape = natural_image_shape(table.frame[feature.name].to_numpy())
    if shape is None:
        raise DataError(f"{table.origin}: column {feature.name!r} holds no readable image — "
                        f"declare its `shape: [channels, height, width]`")
    return feature.model_copy(update={"shape": list(shape)})


def schema_check(table: LoadedTable, features: list[FeatureSpec],
                 target_columns: list[str]) -> CheckResult:
    kinds: dict[str, int] = {}
    for feature in features:
        kinds[feature.type] = kinds.get(feature.type, 0) + 1
    described = ", ".join(f"{n} {k}" for k, n in kinds.items())
    return CheckResult("schema", "ok",
                       f"{table.origin}: {len(table.frame)} rows; features: {described}; "
                       f"target: {', '.join(target_columns)}")


def drop_incomplete_rows(frame: pd.DataFrame, features: list[FeatureSpec],
                         target_columns: list[str]) -> pd.DataFrame:
    """Rows without a target, or missing a `missing: drop` feature, leave the table."""
    drop = np.zeros(len(frame), dtype=bool)
    for name in target_columns + [f.name for f in features if f.missing == "drop"]:
        drop |= missing_mask(frame[name])
    if not drop.any():
        return frame
    kept = frame.loc[~drop].reset_index(drop=True)
    if len(kept) == 0:
        raise DataError("no rows left after dropping rows with missing values — fill them or "
                        "set missing: impute")
    return kept


def _strata(frame: pd.DataFrame, blueprint: Blueprint) -> np.ndarray | None:
    """Labels of the first classification target, the strata of stratified splits."""
    for target in blueprint.task.targets:
        if target.type == "classification":
            return np.array([as_text(v) for v in frame[target.source_columns[0]]])
    return None


def _split_column(frame: pd.DataFrame, column: str | None) -> np.ndarray | None:
    """The group or time column; ISO 8601 text (2024-05-01) sorts as dates, other text
    alphabetically."""
    if column is None:
        return None
    values = frame[column]
    if values.dtype.kind in "fiumM":
        return values.to_numpy()
    import pandas as pd

    try:
        return pd.to_datetime(values, format="ISO8601").to_numpy()
    except (ValueError, TypeError):
        return values.astype(str).to_numpy()


def _columns(frame: pd.DataFrame, names: list[str], rows: np.ndarray) -> dict[str, Any]:
    return {name: frame[name].to_numpy()[rows] for name in dict.fromkeys(names)}


def _signature(blueprint: Blueprint, features: list[FeatureSpec],
               preprocessor: Preprocessor) -> Signature:
    from kiln.model.signature import Signature, inputs_from_features, outputs_from_task

    return Signature(inputs_from_features(features, preprocessor.vocab_sizes),
                     outputs_from_task(blueprint.task, preprocessor.class_labels))


def split_indices(blueprint: Blueprint, frame: pd.DataFrame,
                  fold: int | None = None) -> SplitIndices:
    """The split of an already-loaded table, as `prepare_data` makes it for a table without
    duplicate feature rows (with copies and `data.duplicates: group`, `prepare_data` splits
    by group — use the indices of its `PreparedData` splits then)."""
    spec = blueprint.data.split
    return split_rows(len(frame), spec, blueprint.seed, labels=_strata(frame, blueprint),
                      column=_split_column(frame, spec.column), fold=fold)
