"""The bundled example blueprints (`kiln demo`, the README's tour, the tests).

Shipped as package data, so `kiln demo` finds them in an installed kiln as well as in a
source checkout (where `examples/` at the repository root links here).
"""

from __future__ import annotations

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent


def example(name: str) -> Path:
    """The path of a bundled example blueprint, e.g. `example("digits_cnn.yaml")`."""
    from kiln.errors import BlueprintError

    path = EXAMPLES / name
    if not path.is_file():
        known = ", ".join(sorted(p.name for p in EXAMPLES.glob("*.yaml")))
        raise BlueprintError(f"no bundled example {name!r} — bundled: {known}", where=name)
    return path
