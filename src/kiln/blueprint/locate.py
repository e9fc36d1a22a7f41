"""Point an error found after loading (building the model) at the blueprint's file and line.

Validation errors name `file: key.path (line N)`; errors raised later — an unknown block, a
negative `units` — knew only the key path. `located` adds the rest from the line numbers
that `load_blueprint` kept (`Blueprint._lines`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from kiln.errors import BlueprintError

if TYPE_CHECKING:
    from kiln.blueprint.schema import Blueprint

KEY_PATH = re.compile(r"^((?:[A-Za-z_][\w-]*|\[\d+\])(?:\.[\w-]+|\[\d+\]|#\d+)*): ")


def line_of(lines: dict[str, int], key: str) -> int | None:
    """The line of `key`, or of its nearest parent that the file spells out."""
    while key:
        if key in lines:
            return lines[key]
        cut = max(key.rfind("."), key.rfind("["), key.rfind("#"))
        key = key[:cut] if cut > 0 else ""
    return None


def located(blueprint: Blueprint, error: BlueprintError) -> BlueprintError:
    """`error` with the blueprint's file in front and each problem's line, when known."""
    message = str(error)
    path = blueprint.path
    if path is None or message.startswith(str(path)) or KEY_PATH.match(message) is None:
        return error
    lines = getattr(blueprint, "_lines", {}) or {}
    parts, first_key = [], None
    for part in message.split("; "):  # several problems of one block, one per part
        match = KEY_PATH.match(part)
        if match is None:
            parts.append(part)
            continue
        key = match.group(1)
        first_key = first_key or key
        line = line_of(lines, key)
        parts.append(f"{key} (line {line}): {part[match.end():]}" if line else part)
    return type(error)(f"{path.name}: {'; '.join(parts)}", where=error.where or first_key)
