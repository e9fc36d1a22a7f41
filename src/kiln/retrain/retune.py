"""The re-tune option: search the challenger's architecture and training again, on the
recipe's data, before it is shipped.

`retrain.retune.search` names a blueprint with search distributions (as `kiln tune`
reads); its `data` section is replaced by the recipe's (the retrain table and its split),
so trials train on the original + new rows, select on the validation rows, and never see
the fresh holdout as a selection signal. The best trial's blueprint becomes the
challenger's. A few trials (`retune.trials`) keep it cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kiln.errors import TrainingError

if TYPE_CHECKING:
    from kiln.blueprint.schema import Blueprint


def retune(search: Path, challenger: Blueprint, *, trials: int, study: str) -> Blueprint:
    """The best blueprint of `trials` trials of the search blueprint `search` on the
    challenger's data. Raises `BlueprintError` for a bad search blueprint and
    `TrainingError` when no trial completes."""
    from kiln.blueprint import load_blueprint
    from kiln.blueprint.load import read_yaml
    from kiln.tune import TuneOptions, tune

    raw, _ = read_yaml(search)
    raw = {**raw, "name": challenger.name,
           "data": challenger.data.model_dump(mode="json", exclude_none=True)}
    result = tune(raw, TuneOptions(trials=trials, study=study, quiet=True))
    if result.best_blueprint is None:
        notes = "; ".join(dict.fromkeys(r.note for r in result.rows if r.note)) or "none"
        raise TrainingError(f"re-tune of {search}: no trial of {trials} completed (study "
                            f"{study!r}; why: {notes})", where=str(search))
    best = load_blueprint(result.best_blueprint)
    best.set_source(search)
    return best
