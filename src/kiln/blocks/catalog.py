"""What is registered, for people: one line per block with its arguments and defaults.

Drives `kiln blocks` and the block table of docs/blueprint.md (regenerate it with
`kiln blocks --markdown`), so the documentation cannot drift from the registry.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any

from kiln.blocks.registry import Entry, Kind, registered


@dataclass
class BlockInfo:
    name: str
    kind: Kind
    args: list[tuple[str, str, str | None]]  # (name, type, default or None when required)
    doc: str
    origin: str
    takes_blocks: bool

    def signature(self) -> str:
        """`units: int, bias: bool = True` (nested blocks shown as `blocks: [...]`)."""
        parts = [f"{n}: {t}" if d is None else f"{n}: {t} = {d}" for n, t, d in self.args]
        if self.takes_blocks:
            parts.append("blocks: [...]")
        return ", ".join(parts)


def describe(entry: Entry) -> BlockInfo:
    args = []
    for name, field in entry.params.model_fields.items():
        default = None if field.is_required() else repr(field.default)
        kind = " ".join([_type_name(field.annotation), *_bounds(field.metadata)])
        args.append((name, kind, default))
    return BlockInfo(entry.name, entry.kind, args, entry.doc, entry.origin, entry.takes_blocks)


def catalog(kind: Kind = "block") -> list[BlockInfo]:
    """Every registered block (or combiner), sorted by name."""
    return [describe(entry) for _, entry in sorted(registered(kind).items())]


def markdown_table(kind: Kind = "block") -> str:
    """The Markdown table of docs/blueprint.md: name, arguments, what it does."""
    lines = [f"| {kind} | arguments (defaults) | what it does |", "|---|---|---|"]
    for info in catalog(kind):
        args = f"`{info.signature()}`" if info.signature() else "—"
        doc = info.doc.replace("|", "\\|")
        lines.append(f"| `{info.name}` | {args.replace('|', chr(92) + '|')} | {doc} |")
    return "\n".join(lines)


def _type_name(annotation: Any) -> str:
    """`Annotated[int, Field(gt=0)]` → `int > 0`; `int | None` → `int?`; Literal → `a|b`."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        base, *meta = typing.get_args(annotation)
        return " ".join([_type_name(base), *_bounds(meta)])
    if origin is typing.Literal:
        return "|".join(str(a) for a in typing.get_args(annotation))
    args = typing.get_args(annotation)
    if args and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return " or ".join(_type_name(a) for a in rest) + "?"
    if args:
        return " or ".join(_type_name(a) for a in args)
    return getattr(annotation, "__name__", str(annotation))


def _bounds(meta: list[Any]) -> list[str]:
    """`> 0`, `≥ 0`, `< 1` from annotated-types constraints (also inside a `Field(...)`)."""
    flat: list[Any] = []
    for m in meta:
        flat += [m, *getattr(m, "metadata", [])]
    return [f"{op} {getattr(m, attr)}" for m in flat
            for attr, op in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤"))
            if getattr(m, attr, None) is not None]
