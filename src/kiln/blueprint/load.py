"""Reading a blueprint file: YAML → validated `Blueprint`, with errors a person can act on.

Loading never evaluates code from the file. The only code a blueprint brings in is a plugin
file listed under `plugins` or a model class named under `architecture.model`, and those are
imported later, by the builder.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from kiln.blueprint.schema import Blueprint
from kiln.errors import BlueprintError, did_you_mean


def load_blueprint(source: str | Path | dict[str, Any], *, allow_search: bool = False) -> Blueprint:
    """Read and validate a blueprint from a YAML file (or an already-parsed mapping).

    Raises `BlueprintError` naming the file, the key path, the bad value and what is accepted.
    Search distributions (`{tune: ...}`) are refused unless `allow_search` (used by `kiln tune`).
    """
    raw, path, lines = read_source(source)
    where = f"{path}: " if path else ""
    if not allow_search:
        found = find_distributions(raw)
        if found:
            raise BlueprintError(
                f"{where}{found[0]} is a search distribution — run `kiln tune` on this "
                f"blueprint, or train the concrete blueprint that `kiln tune` writes"
            )
    blueprint = validate(raw, where=where, lines=lines)
    if path is not None:
        blueprint._path = path.resolve()
        blueprint._lines = lines
    return blueprint


def read_source(source: str | Path | dict[str, Any],
                ) -> tuple[dict[str, Any], Path | None, dict[str, int]]:
    """A blueprint file (or an already-parsed mapping) → mapping, path, key-path lines."""
    if isinstance(source, dict):
        return source, None, {}
    raw, lines = read_yaml(Path(source))
    return raw, Path(source), lines


def read_yaml(path: Path) -> tuple[dict[str, Any], dict[str, int]]:
    """Parse YAML safely; return the mapping and the line number of every key path."""
    if not path.exists():
        raise BlueprintError(f"{path}: no such blueprint file — check the path")
    text = path.read_text(encoding="utf-8")
    try:
        raw = yaml.safe_load(text)
        node = yaml.compose(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise BlueprintError(f"{path}:{line}: YAML syntax error: {problem}") from None
    if not isinstance(raw, dict):
        raise BlueprintError(
            f"{path}: a blueprint is a mapping with task, data and architecture sections, "
            f"got {type(raw).__name__}"
        )
    return raw, key_lines(node)


def key_lines(node: yaml.Node | None, prefix: str = "") -> dict[str, int]:
    """Map each dotted key path (`architecture.trunk[2].linear`) to its 1-based line."""
    out: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            path = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            out[path] = key_node.start_mark.line + 1
            out.update(key_lines(value_node, path))
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            path = f"{prefix}[{i}]"
            out[path] = item.start_mark.line + 1
            out.update(key_lines(item, path))
    return out


def find_distributions(raw: Any, prefix: str = "") -> list[str]:
    """Key paths of every `{tune: ...}` mapping in a parsed blueprint."""
    found: list[str] = []
    if isinstance(raw, dict):
        if "tune" in raw and prefix:
            return [prefix]
        for key, value in raw.items():
            found += find_distributions(value, f"{prefix}.{key}" if prefix else str(key))
    elif isinstance(raw, list):
        for i, value in enumerate(raw):
            found += find_distributions(value, f"{prefix}[{i}]")
    return found


def validate(raw: dict[str, Any], *, where: str = "",
             lines: dict[str, int] | None = None) -> Blueprint:
    try:
        return Blueprint.model_validate(raw)
    except ValidationError as exc:
        raise BlueprintError(where + format_validation_error(exc, raw, lines or {})) from None


def format_validation_error(exc: ValidationError, raw: Any, lines: dict[str, int]) -> str:
    """One line per problem: `key.path (line N): value — what is wrong / accepted`."""
    messages = []
    for err in exc.errors():
        loc = _yaml_path(err["loc"], raw)
        line = lines.get(loc) or lines.get(loc.rsplit(".", 1)[0])
        at = f"{loc} (line {line})" if line else loc or "blueprint"
        kind, msg = err["type"], err["msg"].removeprefix("Value error, ")
        if kind == "extra_forbidden":
            parent = _parent_model(err["loc"])
            known = list(parent.model_fields) if parent else []
            key = str(err["loc"][-1])
            messages.append(f"{at}: unknown key {key!r}{did_you_mean(key, known)}")
        elif kind == "missing":
            messages.append(f"{at}: required key is missing")
        elif kind == "greater_than" and err.get("ctx", {}).get("gt") == 0:
            noun = "integer" if isinstance(err.get("input"), int) else "number"
            messages.append(f"{at}: {err.get('input')!r} is not a positive {noun}")
        elif kind == "literal_error":
            choices = re.findall(r"'([^']*)'", str(err.get("ctx", {}).get("expected", "")))
            hint = did_you_mean(str(err.get("input")), choices)
            messages.append(f"{at}: {err.get('input')!r} is not accepted{hint} "
                            f"({msg.lower()})")
        elif kind == "string_type" and isinstance(err.get("input"), bool):
            words = "yes / on / true" if err["input"] else "no / off / false"
            messages.append(f"{at}: YAML read an unquoted {words} as the boolean "
                            f"{str(err['input']).lower()}, not text — quote it "
                            f"(\"{words.split()[0]}\")")
        elif kind in ("value_error", "assertion_error"):
            messages.append(f"{at}: {msg}" if loc else msg)
        else:
            messages.append(f"{at}: {err.get('input')!r} — {msg}")
    return "; ".join(dict.fromkeys(messages))


def _yaml_path(loc: tuple[int | str, ...], raw: Any) -> str:
    """pydantic's location → the key path as written in YAML (`trunk[2]`, not `trunk.2`)."""
    out = ""
    node = raw
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        if part in ("function-after", "function-before") or str(part).startswith("function-"):
            continue
        if isinstance(node, dict) and part not in node and out.endswith("]"):
            # BlockSpec fields (`args`, `blocks`) are not YAML keys; skip them.
            continue
        out = f"{out}.{part}" if out else str(part)
        node = node.get(part) if isinstance(node, dict) else None
    return out


def _parent_model(loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The pydantic model that holds the field at `loc[:-1]`, for key suggestions."""
    from typing import get_args

    model: Any = Blueprint
    for part in loc[:-1]:
        if isinstance(part, int):
            continue
        fields = getattr(model, "model_fields", {})
        field = fields.get(part)
        if field is None:
            continue
        candidates = [field.annotation, *get_args(field.annotation)]
        for arg in list(candidates):
            candidates += list(get_args(arg))
        model = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), model
        )
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def dump_blueprint(blueprint: Blueprint) -> str:
    """The resolved blueprint as YAML (defaults filled in), as recorded with every run."""
    data = blueprint.model_dump(mode="json", exclude_none=True)
    data["architecture"] = _compact_architecture(data["architecture"])
    return yaml.safe_dump(data, sort_keys=False)


def _compact_architecture(arch: dict[str, Any]) -> dict[str, Any]:
    def block(b: dict[str, Any]) -> Any:
        args = dict(b.get("args") or {})
        if b.get("blocks") is not None:
            args["blocks"] = [block(x) for x in b["blocks"]]
        return {b["type"]: args} if args else b["type"]

    out = dict(arch)
    out["encoders"] = {k: [block(b) for b in v] for k, v in arch.get("encoders", {}).items()}
    out["combiner"] = block(arch["combiner"])
    out["trunk"] = [block(b) for b in arch.get("trunk", [])]
    out["heads"] = {k: [block(b) for b in v] for k, v in arch.get("heads", {}).items()}
    return {k: v for k, v in out.items() if v not in ({}, [], None)}
