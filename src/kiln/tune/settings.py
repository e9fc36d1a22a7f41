"""The blueprint's `search` section and the loading of a blueprint that holds a search space."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import ValidationError

from kiln.blueprint.load import format_validation_error, read_source, validate
from kiln.blueprint.schema import Blueprint
from kiln.blueprint.search_spec import SearchSettings
from kiln.errors import BlueprintError, did_you_mean
from kiln.metrics import lower_is_better
from kiln.tune.space import Picker, SearchSpace, parse_space

# Objectives measured on the built model before training (always minimised).
COST_OBJECTIVES = ("params", "flops", "latency", "onnx_size")


@dataclass
class SearchBlueprint:
    """A blueprint with distributions: its search space, settings and the file it came from."""

    space: SearchSpace
    settings: SearchSettings
    path: Path | None
    name: str
    base: Blueprint  # the first representative variant, for task/budget/data settings

    def concrete(self, pick: Picker) -> tuple[dict[str, Any], Blueprint]:
        """Resolve every distribution with `pick`; return the raw mapping and its Blueprint."""
        raw = self.space.resolve(pick)
        return raw, self.validated(raw)

    def validated(self, raw: dict[str, Any]) -> Blueprint:
        blueprint = validate(raw)
        if self.path is not None:
            blueprint.set_source(self.path.resolve())
        return blueprint


def load_search(source: str | Path | dict[str, Any]) -> SearchBlueprint:
    """Read a blueprint holding a search space, and check it before any trial runs.

    Checks: every distribution (key paths), the `search` section, and every representative
    variant of the space (each choice option, both ends of each range) as a `Blueprint`.
    Raises `BlueprintError`.
    """
    raw, path, lines = read_source(source)
    where = f"{path}: " if path else ""
    space = parse_space(raw, where=where, lines=lines)
    if not space.params:
        raise BlueprintError(
            f"{where}no search distribution — nothing to tune; replace a value by one, e.g. "
            f"`lr: {{tune: float, low: 1.0e-4, high: 1.0e-2, log: true}}` under training")
    settings = parse_settings(raw.get("search") or {}, where)
    base: Blueprint | None = None
    for picked, concrete in space.variants():
        try:
            blueprint = validate(concrete)
        except BlueprintError as exc:
            at = f" (search space at {picked})" if picked else ""
            raise BlueprintError(f"{where}{exc}{at}") from None
        base = base or blueprint
    assert base is not None
    if path is not None:
        base.set_source(path.resolve())
    return SearchBlueprint(space, settings, path, base.name, base)


def parse_settings(section: dict[str, Any], where: str = "") -> SearchSettings:
    try:
        return SearchSettings.model_validate(section)
    except ValidationError as exc:
        message = format_validation_error(exc, section, {})
        raise BlueprintError(f"{where}search.{message}") from None


def objective_names(names: list[str], blueprint: Blueprint) -> list[str]:
    """Check objective names: task metrics of this blueprint, or cost objectives."""
    metrics = list(dict.fromkeys([*blueprint.task.metrics, str(blueprint.task.objective)]))
    out = []
    for name in names or [str(blueprint.task.objective)]:
        name = name.strip()
        if name == "objective":
            name = str(blueprint.task.objective)
        if name not in metrics and name not in COST_OBJECTIVES:
            accepted = [*metrics, *COST_OBJECTIVES]
            raise BlueprintError(
                f"objectives: {name!r} is not a task metric or a cost{did_you_mean(name, accepted)}"
                f" (accepted: {', '.join(accepted)}; add a metric to task.metrics first)"
            )
        out.append(name)
    if not any(n in metrics for n in out):
        raise BlueprintError(f"objectives: {', '.join(out)} has no task metric — add "
                             f"{blueprint.task.objective} (e.g. --objectives "
                             f"{blueprint.task.objective},{out[0]})")
    if len(set(out)) != len(out):
        raise BlueprintError(f"objectives: {', '.join(out)} names an objective twice")
    return out


def direction(name: str) -> Literal["maximize", "minimize"]:
    if name in COST_OBJECTIVES or lower_is_better(name):
        return "minimize"
    return "maximize"
