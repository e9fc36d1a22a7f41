"""The blueprint's `retrain:` section: the policy of `kiln retrain` — when to train a
challenger (triggers), on what data (the recipe), and the gate it must pass to become the
champion (see docs/retrain.md). Validated when the blueprint is loaded; the same keys may
stand alone in a `policy.yaml` (`kiln retrain --policy`)."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from kiln.blueprint.section import Section

DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")
UNIT_SECONDS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def duration_seconds(text: str) -> float:
    """'90s', '30m', '1h', '7d' → seconds. Raises ValueError for anything else."""
    match = DURATION.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration — write a positive number and a unit: "
                         f"90s, 30m, 1h or 7d")
    return float(match.group(1)) * UNIT_SECONDS[match.group(2)]


def _check_duration(value: str | None) -> str | None:
    if value is not None:
        duration_seconds(value)
    return value


Share = Annotated[float, Field(gt=0, le=1)]


class TriggerSpec(Section):
    """When a challenger is trained. Any trigger that fires is enough; none set: only an
    explicit `--new-data` file starts a retrain."""

    # Realised accuracy (logged predictions joined with feedback labels) under this floor.
    accuracy_below: Annotated[float, Field(gt=0, le=1)] | None = None
    # Estimated accuracy (mean top-class confidence of the logged predictions, the
    # confidence-based estimate) under this floor: fires before labels arrive.
    estimated_accuracy_below: Annotated[float, Field(gt=0, le=1)] | None = None
    # Realised mean absolute error (regression) above this ceiling, in target units.
    mae_above: Annotated[float, Field(gt=0)] | None = None
    # This many labelled rows arrived since the last retrain.
    new_labelled_rows: Annotated[int, Field(gt=0)] | None = None
    # A schedule: retrain when the last retrain of this model is older than this (7d, 12h).
    every: str | None = None
    # `kiln monitor` reports drift on the window since the last retrain.
    drift: bool = False
    # Accuracy triggers judge no window with fewer rows than this (a noisy estimate).
    min_rows: Annotated[int, Field(gt=0)] = 100

    @field_validator("every")
    @classmethod
    def _every(cls, value: str | None) -> str | None:
        return _check_duration(value)


class RecipeSpec(Section):
    """The challenger's training data: the original data plus the new labelled rows."""

    # Keep the blueprint's original training and validation rows (false: new rows only).
    include_original: bool = True
    # Only logged rows from this recent window (e.g. 14d); null: every labelled row.
    window: str | None = None
    # New rows make at most this share of the challenger's training rows; the most recent
    # are kept. 1.0: no cap.
    max_new_share: Share = 0.5
    # Share of the new labelled rows kept out of training as the fresh holdout on which
    # champion and challenger are judged (neither trains on it).
    holdout: Annotated[float, Field(gt=0, lt=1)] = 0.3
    # Fewer fresh holdout rows than this: no retrain (the comparison would be noise).
    min_holdout_rows: Annotated[int, Field(gt=0)] = 30

    @field_validator("window")
    @classmethod
    def _window(cls, value: str | None) -> str | None:
        return _check_duration(value)


class GateSpec(Section):
    """What the challenger must show on the fresh holdout to replace the champion."""

    # Beat the champion by at least this much (accuracy points for classification, e.g.
    # 0.01; MAE reduction in target units for regression). 0: any real improvement.
    min_improvement: Annotated[float, Field(ge=0)] = 0.0
    # Significance level of the one-sided paired test: exact McNemar (classification) or
    # paired bootstrap (regression).
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05
    # Resamples of the paired bootstrap (regression) and of the metrics' intervals.
    bootstrap: Annotated[int, Field(ge=100)] = 2000
    # Refuse a challenger that breaks the blueprint's latency or size budget.
    budgets: bool = True


class RetuneSpec(Section):
    """Re-tune the challenger on the recipe's data before shipping it (see `kiln tune`)."""

    # A blueprint with search distributions, relative to the blueprint's folder; null: the
    # challenger keeps the champion's blueprint as it is.
    search: str | None = None
    # Trials of the search: a few, since the champion's settings were tuned once already.
    trials: Annotated[int, Field(gt=0)] = 5


class RetrainSpec(Section):
    """The retraining policy."""

    triggers: TriggerSpec = Field(default_factory=TriggerSpec)
    data: RecipeSpec = Field(default_factory=RecipeSpec)
    gate: GateSpec = Field(default_factory=GateSpec)
    retune: RetuneSpec = Field(default_factory=RetuneSpec)
    # `kiln retrain --watch`: how often the triggers are checked.
    check_every: str = "5m"

    @field_validator("check_every")
    @classmethod
    def _check_every(cls, value: str) -> str:
        duration_seconds(value)
        return value
