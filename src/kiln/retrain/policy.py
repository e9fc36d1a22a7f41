"""The retraining policy: the blueprint's `retrain:` section, or a separate `policy.yaml`.

    policy = load_policy("policy.yaml")          # the section's keys, at the top level or
    policy = load_policy(None, blueprint=bp)     # under `retrain:`; None: the blueprint's

The file is validated like a blueprint: every problem names its key path and line.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from kiln.blueprint.retrain_spec import RetrainSpec
from kiln.blueprint.section import Section
from kiln.errors import BlueprintError

if TYPE_CHECKING:
    from kiln.blueprint.schema import Blueprint


class _PolicyFile(Section):
    """A policy file seen as the `retrain:` key of a blueprint, so that messages carry
    the same key paths (`retrain.gate.alpha`) and suggestions as a blueprint's."""

    retrain: RetrainSpec


def load_policy(path: str | Path | None = None, *,
                blueprint: Blueprint | None = None) -> RetrainSpec:
    """The policy in `path`, else the blueprint's `retrain:` section, else the defaults.

    Raises `BlueprintError` naming the file, key path and line of a bad value."""
    if path is None:
        return blueprint.retrain if blueprint is not None else RetrainSpec()
    from kiln.blueprint.load import format_validation_error, read_yaml

    file = Path(path)
    if not file.is_file():
        raise BlueprintError(f"{file}: no such policy file — pass the YAML file that holds "
                             f"the retrain policy (see docs/retrain.md)", where=str(file))
    raw, lines = read_yaml(file)
    nested = "retrain" in raw
    wrapped = {"retrain": (raw["retrain"] or {}) if nested else raw}
    key_lines = lines if nested else {f"retrain.{k}": v for k, v in lines.items()}
    try:
        return _PolicyFile.model_validate(wrapped).retrain
    except ValidationError as exc:
        message = format_validation_error(exc, wrapped, key_lines)
        raise BlueprintError(f"{file}: {message}", where=str(file)) from None
