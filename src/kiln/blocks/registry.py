"""The block registry: every block, combiner and head part is a name mapped to a builder.

A builder is a plain function with keyword-only arguments that returns an `nn.Module`, or an
`nn.Module` class. Both are registered with a decorator:

    @kiln.block("swish_gate")
    def swish_gate(in_shape, *, units: int = 64) -> nn.Module: ...

    @kiln.block("my_block")
    class MyBlock(nn.Module):
        def __init__(self, in_features: int, hidden: int = 32): ...

Builders receive the per-sample input shape (`in_shape`, batch axis excluded) when they ask
for it, and for classes kiln fills `in_features` (last axis) or `in_channels` (first axis).
The arguments a builder declares are its parameter schema: kiln turns the signature into a
pydantic model, so `units: -4` fails at the key path with "is not a positive integer".
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, create_model

from kiln.errors import BlueprintError, did_you_mean

Kind = Literal["block", "combiner"]
# Arguments kiln supplies itself; they never appear in a blueprint.
CONTEXT_ARGS = {"in_shape", "in_shapes", "in_features", "in_channels", "vocab_size", "blocks"}


@dataclass
class Entry:
    """A registered builder and the schema of the arguments a blueprint may give it."""

    name: str
    kind: Kind
    builder: Callable[..., Any]
    params: type[BaseModel]
    accepts: set[str]
    takes_blocks: bool
    doc: str = ""
    origin: str = "built-in"
    extra: dict[str, Any] = field(default_factory=dict)

    def validate_args(self, args: dict[str, Any], path: str) -> dict[str, Any]:
        """Check a block's arguments against its schema; `BlueprintError` names the key path."""
        try:
            model = self.params.model_validate(args)
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                key = ".".join(str(p) for p in err["loc"])
                value = err.get("input")
                if err["type"] == "extra_forbidden":
                    problems.append(
                        f"{path}.{key}: unknown argument of {self.name!r}"
                        f"{did_you_mean(key, list(self.params.model_fields))}"
                        f" (accepted: {', '.join(self.params.model_fields) or 'none'})"
                    )
                elif err["type"] == "missing":
                    problems.append(f"{path}.{key}: required argument of {self.name!r} is missing")
                elif err["type"] == "greater_than" and err.get("ctx", {}).get("gt") == 0:
                    noun = "integer" if isinstance(value, int) else "number"
                    problems.append(f"{path}.{key}: {value!r} is not a positive {noun}")
                else:
                    problems.append(f"{path}.{key}: {value!r} — {err['msg']}")
            raise BlueprintError("; ".join(problems)) from None
        return {k: getattr(model, k) for k in type(model).model_fields}


_REGISTRY: dict[Kind, dict[str, Entry]] = {"block": {}, "combiner": {}}


def _schema_for(name: str, builder: Callable[..., Any]) -> tuple[type[BaseModel], set[str]]:
    target = builder.__init__ if inspect.isclass(builder) else builder
    signature = inspect.signature(target)
    try:
        hints = typing.get_type_hints(target, include_extras=True)
    except Exception:  # an unresolvable annotation in a user's plugin: accept any value
        hints = {}
    fields: dict[str, Any] = {}
    accepts: set[str] = set()
    for pname, param in signature.parameters.items():
        if pname == "self" or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        accepts.add(pname)
        if pname in CONTEXT_ARGS:
            continue
        annotation = hints.get(pname, Any)
        default = ... if param.default is param.empty else param.default
        fields[pname] = (annotation, default)
    params = create_model(
        f"{name}_params", __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=True),
        **fields,
    )
    return params, accepts


def register(name: str, kind: Kind = "block", *, origin: str = "built-in") -> Callable[[Any], Any]:
    """Decorator: register a block (or combiner) builder under `name`. Returns it unchanged."""

    def decorate(builder: Any) -> Any:
        params, accepts = _schema_for(name, builder)
        doc = inspect.getdoc(builder) or ""
        _REGISTRY[kind][name] = Entry(
            name=name,
            kind=kind,
            builder=builder,
            params=params,
            accepts=accepts,
            takes_blocks="blocks" in accepts,
            doc=doc.splitlines()[0] if doc else "",
            origin=origin if origin != "built-in" else getattr(builder, "__module__", origin),
        )
        return builder

    return decorate


def block(name: str) -> Callable[[Any], Any]:
    """Register a block: `@kiln.block("name")` on a builder function or an nn.Module class."""
    return register(name, "block")


def combiner(name: str) -> Callable[[Any], Any]:
    """Register a combiner: `@kiln.combiner("name")`; it receives `in_shapes` (one per input)."""
    return register(name, "combiner")


def lookup(name: str, kind: Kind, path: str) -> Entry:
    """The entry registered under `name`, or a `BlueprintError` with a suggestion."""
    _ensure_builtins()
    table = _REGISTRY[kind]
    if name not in table:
        known = sorted(table)
        raise BlueprintError(
            f"{path}: unknown {kind} {name!r}{did_you_mean(name, known)} "
            f"(registered: {', '.join(known)}; custom ones come from a plugin file listed "
            f"under `plugins`)"
        )
    return table[name]


def registered(kind: Kind = "block") -> dict[str, Entry]:
    """A copy of the registry for one kind (used by `kiln blocks` and the conformance test)."""
    _ensure_builtins()
    return dict(_REGISTRY[kind])


def _ensure_builtins() -> None:
    # Importing the built-in modules runs their decorators; cheap after the first time.
    from kiln.blocks import builtin, combiners  # noqa: F401
