"""A categorical feature with very many categories: a warning before training.

Each category gets its own embedding row (or one-hot slot) that learns only from the rows
holding it; with hundreds of categories most see a handful of rows, and the model memorises
them. The check warns above `HIGH_CARDINALITY` distinct values and says what usually helps.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kiln.data.prepared import CheckResult
from kiln.data.transforms import as_text, missing_of

if TYPE_CHECKING:
    import pandas as pd

    from kiln.blueprint.schema import FeatureSpec

HIGH_CARDINALITY = 100  # distinct categories above which a warning is shown


def check_cardinality(frame: pd.DataFrame, features: Sequence[FeatureSpec]) -> list[CheckResult]:
    """One warning per categorical feature with more than `HIGH_CARDINALITY` categories."""
    results = []
    for feature in features:
        if feature.type != "categorical":
            continue
        values = frame[feature.name].to_numpy()
        present = values[~missing_of(values)]
        distinct = len({as_text(v) for v in present})
        if distinct > HIGH_CARDINALITY:
            per = len(present) / distinct
            results.append(CheckResult(
                "cardinality", "warning",
                f"{feature.name!r}: {distinct} categories, {per:.1f} rows each on average — "
                f"rare categories cannot be learnt; group them, declare the frequent ones as "
                f"`categories:` (the rest share the unknown bucket), or drop the column"))
    return results
