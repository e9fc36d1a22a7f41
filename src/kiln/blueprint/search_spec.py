"""The blueprint's `search:` section: how `kiln tune` searches (see docs/tune.md).
Validated when the blueprint is loaded; every key has a `kiln tune` flag that overrides it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from kiln.blueprint.section import Section

SamplerName = Literal["tpe", "random", "grid", "cmaes", "nsga2"]
PrunerName = Literal["median", "hyperband", "none"]


class SearchSettings(Section):
    """`search:` in the blueprint; every key has a `kiln tune` flag that overrides it."""

    trials: Annotated[int, Field(gt=0)] = 20
    # null: tpe for one objective, nsga2 for several.
    sampler: SamplerName | None = None
    # Pruning needs one objective and per-epoch values; it is off for several objectives.
    pruner: PrunerName = "median"
    # The task objective (default) and optional costs: params, flops, latency, onnx_size.
    objectives: list[str] = Field(default_factory=list)
    # Trials sampled at random before TPE models the space, and completed before pruning.
    startup_trials: Annotated[int, Field(ge=0)] = 5
    # Epochs a trial always runs before the median pruner may stop it.
    warmup_epochs: Annotated[int, Field(ge=0)] = 2
    # A worker that misses heartbeats for `grace_s` seconds has its trial marked failed.
    heartbeat_s: Annotated[int, Field(gt=0)] = 10
    grace_s: Annotated[int, Field(gt=0)] | None = None
    # Multi-objective: the chosen Pareto point is the cheapest one whose task metric is
    # within this many points of the best on the front.
    pareto_tolerance: Annotated[float, Field(ge=0)] = 0.005
    # Null: the blueprint's seed.
    seed: int | None = None
