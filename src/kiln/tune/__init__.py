"""The tune stage: Optuna over training and architecture, several objectives, many workers.

`tune(blueprint_path, TuneOptions(...)) -> TuneResult`; the search space lives in the
blueprint (`{tune: float|int|choice, ...}`), see `kiln.tune.space`.
"""

from __future__ import annotations

from kiln.tune.settings import SearchBlueprint, SearchSettings, load_search
from kiln.tune.space import Distribution, SearchSpace, parse_space
from kiln.tune.stage import TuneOptions, tune, work

__all__ = ["Distribution", "SearchBlueprint", "SearchSettings", "SearchSpace", "TuneOptions",
           "load_search", "parse_space", "tune", "work"]
