"""The default trainer of a trial: `kiln.train.train`, with the prepared data reused.

Preparing data (load, check, split, fit preprocessing) does not depend on the architecture
or the optimiser, so a worker prepares it once per distinct `data`/`task`/`seed` and hands it
to every trial — unless the search space reaches into those sections.
"""

from __future__ import annotations

import json
from typing import Any

from kiln.blueprint.schema import Blueprint
from kiln.tune.trial import EpochCallback, TrainOutcome


class KilnTrainer:
    """Train one trial's blueprint with `kiln.train.train`; see `Trainer` in `trial.py`."""

    def __init__(self, *, cv: int | None = None, tracking: bool = True) -> None:
        self.cv = cv
        self.tracking = tracking
        self._data: dict[str, Any] = {}

    def __call__(self, blueprint: Blueprint, *, epoch_callback: EpochCallback | None,
                 parent_run_id: str | None, run_name: str) -> TrainOutcome:
        from kiln.train.stage import train

        data = None if self.cv else self.prepared(blueprint)
        run = train(blueprint, data=data, cv=self.cv, quiet=True, epoch_callback=epoch_callback,
                    parent_run_id=parent_run_id if self.tracking else None, run_name=run_name,
                    tracking=self.tracking)
        return TrainOutcome(metrics=validation_metrics(run.metrics, cv=self.cv), run_id=run.id)

    def prepared(self, blueprint: Blueprint) -> Any:
        key = json.dumps([blueprint.model_dump(mode="json", include={"data", "task", "seed"}),
                          str(blueprint.base_dir)], sort_keys=True, default=str)
        if key not in self._data:
            from kiln.data import prepare_data

            self._data = {key: prepare_data(blueprint)}  # one entry: bounded memory
        return self._data[key]


def validation_metrics(metrics: dict[str, Any], *, cv: int | None) -> dict[str, float]:
    """The numbers a trial is judged on: the validation split, or the CV means."""
    if cv:
        means = (metrics.get("cv") or {}).get("mean") or {}  # {"val.accuracy": ..., ...}
        return {k.removeprefix("val."): float(v) for k, v in means.items()
                if k.startswith("val.") and isinstance(v, (int, float))}
    val = metrics.get("val") or {}
    return {k: float(v) for k, v in val.items() if isinstance(v, (int, float))}
