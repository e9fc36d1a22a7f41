"""`kiln design` on a search blueprint: the smallest, the default-choice and the largest
model of the space, each designed and checked against the budgets.

The smallest and the largest are found by one pass of coordinate search over parameter
counts: starting from every range at its low (high) end and the first (last) option of
every choice, each distribution in turn is set to each of its options (both ends for a
range) and the one giving the fewest (most) parameters is kept. Options of a conditional
sub-space are only tried where the choice above them selects it, so in a very entangled
space the result is the smallest found, not a proven minimum.

The default-choice model takes the first option of every choice and the middle of
every range (geometric middle on a log range). A budget broken only by the largest model
is a warning — `kiln tune` skips such trials before training them; broken by the smallest,
no trial can meet it, and `kiln design` exits 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiln.blueprint.schema import Blueprint
    from kiln.design.stage import DesignReport
    from kiln.tune.space import Distribution


@dataclass
class SpaceDesign:
    """The three designed models of a search space; `to_dict()` is the `--json` object."""

    name: str
    reports: dict[str, DesignReport]  # "smallest", "default", "largest"
    picks: dict[str, str]  # the same keys → "name=value, ..."
    candidates: int
    distributions: int
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """False when even the smallest model breaks a budget."""
        return self.reports["smallest"].ok

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "search_space": True, "candidates": self.candidates,
                "distributions": self.distributions, "ok": self.ok, "notes": self.notes,
                "models": {key: {"picked": self.picks[key], **report.to_dict()}
                           for key, report in self.reports.items()}}


def default_value(d: Distribution) -> Any:
    """The first option of a choice; the middle of a range (geometric on a log range)."""
    if d.kind == "choice":
        return d.labels[0]
    low, high = float(d.low), float(d.high)
    middle = math.sqrt(low * high) if d.log else (low + high) / 2
    if d.step:
        middle = low + round((middle - low) / float(d.step)) * float(d.step)
    return round(middle) if d.kind == "int" else float(middle)


def end_value(d: Distribution, high: bool) -> Any:
    if d.kind == "choice":
        return d.labels[-1 if high else 0]
    return d.extreme(1 if high else 0)


def design_space(source: str | Path, *, measure: bool = True,
                 threads: int | None = None) -> SpaceDesign:
    """Design the smallest, default and largest model of a search blueprint's space.

    Raises `BlueprintError` (a bad distribution or variant, from `kiln.tune`) and the
    builder's errors."""
    from kiln.design.stage import design, design_signature
    from kiln.model.builder import build_model
    from kiln.model.measure import count_params
    from kiln.tune.settings import load_search

    search = load_search(source)
    signature = design_signature(search.base)

    def size(picks: dict[str, Any], high: bool) -> tuple[int, str, Blueprint]:
        shown: list[str] = []

        def pick(d: Distribution) -> Any:
            value = picks.get(d.path, end_value(d, high))
            shown.append(f"{d.name}={value}")
            return value

        blueprint = search.validated(search.space.resolve(pick))
        return count_params(build_model(blueprint, signature)), ", ".join(shown), blueprint

    extremes, sized = {}, 0
    for high in (False, True):  # one pass of coordinate search per direction
        picks: dict[str, Any] = {}
        best = size(picks, high)
        for d in search.space.params:
            options = d.labels if d.kind == "choice" else (d.extreme(0), d.extreme(1))
            for option in options:
                trial = size({**picks, d.path: option}, high)
                sized += 1
                if (trial[0] > best[0]) if high else (trial[0] < best[0]):
                    best, picks = trial, {**picks, d.path: option}
        extremes["largest" if high else "smallest"] = best
    chosen: list[str] = []

    def pick_default(d: Distribution) -> Any:
        value = default_value(d)
        chosen.append(f"{d.name}={value:.4g}" if isinstance(value, float) else
                      f"{d.name}={value}")
        return value

    _, default_bp = search.concrete(pick_default)
    models = {"smallest": extremes["smallest"][1:], "default": (", ".join(chosen), default_bp),
              "largest": extremes["largest"][1:]}
    reports = {key: design(bp, signature, measure=measure, threads=threads)
               for key, (_, bp) in models.items()}
    notes = [f"the {key} model breaks {', '.join(b.name for b in r.budgets if not b.ok)}"
             for key, r in reports.items() if not r.ok]
    return SpaceDesign(search.name, reports, {k: v[0] for k, v in models.items()},
                       sized, len(search.space.params), notes)
