"""The compress settings of one `kiln compress` call: the blueprint's `compress:` section
(typed and validated when the blueprint is loaded, `kiln.blueprint.compress_spec`) with the
command's flags applied on top."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from kiln.blueprint.compress_spec import CompressSpec
from kiln.blueprint.load import format_validation_error
from kiln.errors import BlueprintError


def compress_settings(section: CompressSpec | dict[str, Any] | None,
                      **overrides: Any) -> CompressSpec:
    """A copy of the blueprint's `compress` section with the non-None `overrides` (CLI
    flags) applied; a plain dict is validated first.

    Raises `BlueprintError` naming `compress.<key>` (a dict) or `--<flag>` (an override).
    """
    if isinstance(section, CompressSpec):
        spec = section.model_copy(deep=True)
    else:
        try:
            spec = CompressSpec.model_validate(section or {})
        except ValidationError as exc:
            raise BlueprintError("compress." + format_validation_error(exc, section or {}, {})
                                 ) from None
    for key, value in overrides.items():
        if value is None:
            continue
        try:
            target = spec.distill if key in ("alpha", "temperature", "student") else spec
            setattr(target, key, value)
        except ValidationError as exc:
            flag = {"student": "distill", "timing_budget_s": "timing-budget"}.get(key, key)
            raise BlueprintError(f"--{flag} {value}: {exc.errors()[0]['msg']}") from None
    return spec
