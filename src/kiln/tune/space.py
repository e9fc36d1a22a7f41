"""The search space: `{tune: ...}` mappings inside a blueprint, parsed, checked and sampled.

Any scalar of a blueprint may be replaced by a distribution:

    lr: {tune: float, low: 1.0e-4, high: 1.0e-2, log: true}
    units: {tune: int, low: 32, high: 256, step: 32}
    p: {tune: choice, values: [0.0, 0.1, 0.3]}

A `choice` whose values are mappings or lists (blocks, lists of blocks) is a conditional
sub-space: distributions nested inside a value are sampled only when that value is chosen.
Every distribution is named by its YAML key path (`architecture.trunk[0].values[1].linear.units`)
unless it carries `name:`; that name is the Optuna parameter name.

Sampling returns a concrete mapping (no distributions left) that `kiln.blueprint.load.validate`
turns into a `Blueprint`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from kiln.errors import BlueprintError, did_you_mean

Kind = Literal["float", "int", "choice"]
KINDS: tuple[str, ...] = ("float", "int", "choice")
ACCEPTED_KEYS: dict[str, tuple[str, ...]] = {
    "float": ("tune", "low", "high", "log", "step", "name"),
    "int": ("tune", "low", "high", "log", "step", "name"),
    "choice": ("tune", "values", "labels", "name"),
}
Primitive = None | bool | int | float | str


@dataclass(frozen=True)
class Distribution:
    """One search dimension. `labels` are what Optuna stores for a choice (primitives)."""

    path: str
    kind: Kind
    name: str
    low: float | int = 0
    high: float | int = 0
    log: bool = False
    step: float | int | None = None
    values: tuple[Any, ...] = ()
    labels: tuple[Primitive, ...] = ()

    @property
    def conditional(self) -> bool:
        """True when a chosen value may hold further distributions or structure."""
        return any(isinstance(v, (dict, list)) for v in self.values)

    def to_optuna(self) -> Any:
        """The matching `optuna.distributions` object."""
        from optuna.distributions import (
            CategoricalDistribution,
            FloatDistribution,
            IntDistribution,
        )

        if self.kind == "choice":
            return CategoricalDistribution(list(self.labels))
        if self.kind == "int":
            return IntDistribution(int(self.low), int(self.high), log=self.log,
                                   step=int(self.step or 1))
        return FloatDistribution(float(self.low), float(self.high), log=self.log,
                                 step=None if self.step is None else float(self.step))

    def grid_values(self) -> list[Primitive]:
        """Every value a grid search visits; floats need a `step`."""
        if self.kind == "choice":
            return list(self.labels)
        if self.kind == "float" and self.step is None:
            raise BlueprintError(
                f"{self.path}: the grid sampler needs a finite set of values — give this "
                f"float distribution a `step`, or make it a `choice`"
            )
        step = self.step or 1
        count = math.floor((self.high - self.low) / step + 1e-9) + 1
        if self.kind == "int":
            return [int(self.low) + i * int(step) for i in range(count)]
        return [round(float(self.low) + i * float(step), 12) for i in range(count)]

    def index_of(self, label: Primitive) -> int:
        return self.labels.index(label)

    def extreme(self, k: int) -> Any:
        """A representative value for structural checks: low for even k, high for odd k."""
        if self.kind == "choice":
            return self.labels[k % len(self.labels)]
        if k % 2 == 0:
            return self.low
        grid_top = self.high
        if self.step:
            grid_top = self.low + math.floor((self.high - self.low) / self.step + 1e-9) * self.step
        return int(grid_top) if self.kind == "int" else float(grid_top)


Picker = Callable[[Distribution], Any]


@dataclass
class SearchSpace:
    """The distributions found in a raw blueprint mapping, and how to resolve them."""

    raw: dict[str, Any]
    distributions: dict[str, Distribution] = field(default_factory=dict)  # by YAML path

    @property
    def params(self) -> list[Distribution]:
        return list(self.distributions.values())

    def resolve(self, pick: Picker) -> dict[str, Any]:
        """A concrete blueprint mapping: each distribution reached is replaced by `pick(d)`.

        For a choice, `pick` returns one of `d.labels`; nested distributions of the chosen
        value are then resolved in turn (and only those: that is what makes them conditional).
        """
        out = self._resolve(self.raw, "", pick)
        assert isinstance(out, dict)
        return out

    def _resolve(self, node: Any, path: str, pick: Picker) -> Any:
        if isinstance(node, dict):
            if "tune" in node and path:
                dist = self.distributions[path]
                value = pick(dist)
                if dist.kind != "choice":
                    return value
                index = dist.index_of(value)
                return self._resolve(dist.values[index], f"{path}.values[{index}]", pick)
            return {k: self._resolve(v, _join(path, k), pick) for k, v in node.items()}
        if isinstance(node, list):
            return [self._resolve(v, f"{path}[{i}]", pick) for i, v in enumerate(node)]
        return node

    def sample(self, trial: Any) -> dict[str, Any]:
        """Ask an Optuna trial for a value of every distribution reached; return the concrete
        mapping."""
        return self.resolve(lambda d: suggest(trial, d))

    def variants(self, limit: int = 32) -> list[tuple[str, dict[str, Any]]]:
        """Representative concrete mappings: every choice option (nested ones included) and
        both ends of every range appear in at least one, so structural mistakes surface
        before any trial."""
        visits: dict[str, int] = {}
        out: list[tuple[str, dict[str, Any]]] = []
        while len(out) < limit:
            picked: list[str] = []

            def pick(d: Distribution, picked: list[str] = picked) -> Any:
                k = visits.get(d.path, 0)
                visits[d.path] = k + 1
                value = d.extreme(k)
                picked.append(f"{d.name}={value}")
                return value

            concrete = self.resolve(pick)
            out.append((", ".join(picked), concrete))
            if all(visits.get(d.path, 0) >= max(2, len(d.labels)) for d in self.params):
                break
        return out

    def grid(self) -> dict[str, list[Primitive]]:
        """The search space for `optuna.samplers.GridSampler` (every distribution, nested
        ones included)."""
        return {d.name: d.grid_values() for d in self.params}


def suggest(trial: Any, d: Distribution) -> Any:
    """One `trial.suggest_*` call for a distribution."""
    if d.kind == "choice":
        return trial.suggest_categorical(d.name, list(d.labels))
    if d.kind == "int":
        return trial.suggest_int(d.name, int(d.low), int(d.high), step=int(d.step or 1),
                                 log=d.log)
    return trial.suggest_float(d.name, float(d.low), float(d.high), log=d.log,
                               step=None if d.step is None else float(d.step))


# --------------------------------------------------------------------------- parsing


def parse_space(raw: dict[str, Any], *, where: str = "",
                lines: dict[str, int] | None = None) -> SearchSpace:
    """Find and check every distribution of a raw blueprint mapping.

    Raises `BlueprintError` listing every problem with its key path (and line when known):
    unknown distribution, unknown key, low > high, log with low ≤ 0, empty choice, ...
    """
    space = SearchSpace(raw=raw)
    problems: list[str] = []
    _collect(raw, "", space, problems)
    names: dict[str, str] = {}
    for d in space.params:
        if d.name in names:
            problems.append(f"{d.path}.name: {d.name!r} is already the name of "
                            f"{names[d.name]} — names of distributions must be unique")
        names[d.name] = d.path
    if problems:
        lines = lines or {}
        raise BlueprintError(where + "; ".join(_with_line(p, lines) for p in problems))
    return space


def _collect(node: Any, path: str, space: SearchSpace, problems: list[str]) -> None:
    if isinstance(node, dict):
        if "tune" in node and path:
            if path.startswith("search"):
                problems.append(f"{path}: the search section configures `kiln tune` and "
                                f"cannot itself be searched — give a concrete value")
                return
            dist = _parse_one(node, path, problems)
            if dist is None:
                return
            space.distributions[path] = dist
            for i, value in enumerate(dist.values):
                _collect(value, f"{path}.values[{i}]", space, problems)
            return
        for key, value in node.items():
            _collect(value, _join(path, key), space, problems)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _collect(value, f"{path}[{i}]", space, problems)


def _parse_one(node: dict[str, Any], path: str, problems: list[str]) -> Distribution | None:
    kind = node["tune"]
    if not isinstance(kind, str) or kind not in KINDS:
        hint = did_you_mean(kind, KINDS) if isinstance(kind, str) else ""
        problems.append(f"{path}.tune: {kind!r} is not a distribution{hint} "
                        f"(accepted: {', '.join(KINDS)})")
        return None
    before = len(problems)
    accepted = ACCEPTED_KEYS[kind]
    for key in node:
        if key not in accepted:
            problems.append(f"{path}.{key}: unknown key of a {kind} distribution"
                            f"{did_you_mean(str(key), accepted)} (accepted: {', '.join(accepted)})")
    name = node.get("name", path)
    if not isinstance(name, str) or not name:
        problems.append(f"{path}.name: {name!r} is not a non-empty string")
        name = path
    if kind == "choice":
        values = node.get("values")
        if not isinstance(values, list) or not values:
            what = "an empty choice" if values == [] else f"{values!r} is not a list of values"
            problems.append(f"{path}.values: {what} — give at least one value, "
                            f"e.g. values: [32, 64]")
            return None
        labels = node.get("labels")
        if labels is not None and (not isinstance(labels, list) or len(labels) != len(values)
                                   or len(set(map(str, labels))) != len(labels)):
            problems.append(f"{path}.labels: {labels!r} must be a list of {len(values)} "
                            f"distinct names, one per value")
        if len(problems) > before:
            return None
        return Distribution(path, "choice", name, values=tuple(values),
                            labels=tuple(map(str, labels)) if labels else _labels(values))
    dist = _parse_range(node, path, "int" if kind == "int" else "float", name, problems)
    return dist if len(problems) == before else None


def _parse_range(node: dict[str, Any], path: str, kind: Kind, name: str,
                 problems: list[str]) -> Distribution | None:
    numbers: dict[str, float | int] = {}
    for key in ("low", "high", "step"):
        value = node.get(key)
        if value is None:
            if key != "step":
                problems.append(f"{path}.{key}: required for a {kind} distribution")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            problems.append(f"{path}.{key}: {value!r} is not a number")
        elif kind == "int" and not isinstance(value, int):
            problems.append(f"{path}.{key}: {value!r} is not an integer (tune: int) — use "
                            f"an integer or tune: float")
        else:
            numbers[key] = value
    log = node.get("log", False)
    if not isinstance(log, bool):
        problems.append(f"{path}.log: {log!r} is not true or false")
        log = False
    low, high, step = numbers.get("low"), numbers.get("high"), numbers.get("step")
    if low is not None and high is not None and low > high:
        problems.append(f"{path}: low {low!r} > high {high!r} — swap them")
    if log and low is not None and low <= 0:
        problems.append(f"{path}.low: log: true needs low > 0, got {low!r}")
    if step is not None and step <= 0:
        problems.append(f"{path}.step: {step!r} is not a positive number")
    if log and step is not None:
        problems.append(f"{path}: step and log: true cannot be combined — drop one")
    if low is None or high is None:
        return None
    return Distribution(path, kind, name, low=low, high=high, log=log, step=step)


def _labels(values: list[Any]) -> tuple[Primitive, ...]:
    """What Optuna stores for each option: the value itself when every value is a scalar,
    otherwise a short string (a block's type name) that stays readable in the dashboard."""
    if all(v is None or isinstance(v, (bool, int, float, str)) for v in values):
        return tuple(values)
    labels = [_label(v, i) for i, v in enumerate(values)]
    if len(set(labels)) != len(labels):
        labels = [f"{i}:{label}" for i, label in enumerate(labels)]
    return tuple(labels)


def _label(value: Any, index: int) -> str:
    if isinstance(value, dict) and len(value) == 1 and "tune" not in value:
        return str(next(iter(value)))
    if isinstance(value, list):
        names = [_label(v, i) for i, v in enumerate(value)]
        short = "+".join(names[:4]) + ("+…" if len(names) > 4 else "")
        return short or "[]"
    if value is None:
        return "none"
    if isinstance(value, (bool, int, float, str)):
        return str(value)
    return f"option{index}"


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _with_line(problem: str, lines: dict[str, int]) -> str:
    """Add `(line N)` after the key path a problem starts with, when the line is known."""
    key = problem.split(":", 1)[0]
    line = lines.get(key) or lines.get(key.rsplit(".", 1)[0])
    return problem.replace(key, f"{key} (line {line})", 1) if line else problem
