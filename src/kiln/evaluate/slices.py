"""Per-slice metrics: the model judged separately on each value of a feature (`data.slices`).

Categorical values are slices as they are (the most frequent MAX_VALUES, the rest pooled as
"(other)"); numeric features are cut at their quantiles over the evaluated rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kiln.errors import BlueprintError, did_you_mean
from kiln.evaluate.bootstrap import Estimate
from kiln.evaluate.scoring import Outputs, distributions, estimates

QUANTILE_BINS = 4  # quartiles: enough to see a trend, each bin ≥ ¼ of the rows
MAX_VALUES = 20  # categorical values shown one by one; rarer ones are pooled
MISSING = "(missing)"
OTHER = "(other)"


@dataclass
class Slice:
    feature: str
    value: str
    rows: int
    metrics: dict[str, Estimate]

    def to_dict(self) -> dict[str, Any]:
        return {"feature": self.feature, "value": self.value, "rows": self.rows,
                "metrics": {k: v.to_dict() for k, v in self.metrics.items()}}


def slice_labels(values: Any, numeric: bool) -> np.ndarray:
    """One label per row: a quantile interval (numeric) or the value itself (categorical)."""
    import pandas as pd

    series = pd.Series(values).reset_index(drop=True)
    labels = np.full(len(series), MISSING, dtype=object)
    present = series.notna().to_numpy()
    if numeric and series.nunique() > QUANTILE_BINS:
        values = series[present].astype(float).to_numpy()
        edges = np.unique(np.quantile(values, np.linspace(0, 1, QUANTILE_BINS + 1)))
        last = len(edges) - 2
        which = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, last)
        names = [f"[{edges[i]:.4g}, {edges[i + 1]:.4g}{']' if i == last else ')'}"
                 for i in range(last + 1)]
        labels[present] = np.array(names, dtype=object)[which]
        return labels
    labels[present] = series[present].astype(str).to_numpy()
    counts = pd.Series(labels[present]).value_counts()
    rare = set(counts.index[MAX_VALUES:])
    return np.array([OTHER if v in rare else v for v in labels], dtype=object)


def _is_numeric(table: Any, name: str, feature_types: Mapping[str, str]) -> bool:
    import pandas as pd

    kind = feature_types.get(name)
    if kind is not None:
        return kind == "numeric"
    return bool(pd.api.types.is_numeric_dtype(table[name]))


def slice_metrics(table: Any, rows: np.ndarray, features: Sequence[str],
                  feature_types: Mapping[str, str], types: Mapping[str, str],
                  y_true: Outputs, y_out: Outputs, names: Sequence[str], *,
                  resamples: int, seed: int = 0, keep: Sequence[str] = ()) -> list[Slice]:
    """Metrics with intervals on every slice of every feature in `features`.

    table: the loaded DataFrame; rows: (N,) positions in it of the evaluated rows, aligned
    with y_true / y_out; `keep` as in `distributions`. Raises BlueprintError for a slice
    column the table lacks.
    """
    out = []
    for i, feature in enumerate(features):
        if feature not in table.columns:
            raise BlueprintError(
                f"data.slices[{i}]: column {feature!r} is not in the data"
                f"{did_you_mean(feature, [str(c) for c in table.columns])} — name one of: "
                f"{', '.join(map(str, list(table.columns)[:20]))}")
        labels = slice_labels(table[feature].iloc[rows], _is_numeric(table, feature,
                                                                      feature_types))
        for value in sorted(set(labels), key=_slice_order):
            mask = labels == value
            truth = {t: y[mask] for t, y in y_true.items()}
            pred = {t: y[mask] for t, y in y_out.items()}
            dist = distributions(types, truth, {"model": pred}, names, resamples=resamples,
                                 seed=seed, keep=keep)["model"]
            out.append(Slice(feature, str(value), int(mask.sum()), estimates(dist)))
    return out


def _slice_order(label: str) -> tuple[int, float, str]:
    """Quantile bins by their lower edge, then values alphabetically, pooled ones last."""
    if label in (MISSING, OTHER):
        return (2, 0.0, label)
    if label.startswith("["):
        try:
            return (0, float(label[1:].split(",")[0]), label)
        except ValueError:
            pass
    return (1, 0.0, label)
