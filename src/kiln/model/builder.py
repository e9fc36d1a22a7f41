"""Blueprint → `nn.Module`, with every shape inferred (zero-batch dry run) before training.

A mismatch is reported at the block that caused it, with its key path and both shapes.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn

from kiln.blocks.registry import Entry, lookup
from kiln.blocks.shapes import BuiltBlocks, Shape, show
from kiln.blueprint.locate import located
from kiln.blueprint.schema import BlockSpec, Blueprint
from kiln.errors import BlueprintError, KilnError, PluginError, ShapeError, did_you_mean
from kiln.model.network import Bagged, ExternalModel, KilnModel, LayerRow
from kiln.model.plugins import import_model_class, load_plugins
from kiln.model.signature import InputSpec, Signature, declared_signature

DRY_BATCH = 2  # > 1 so that batch statistics are defined; eval mode keeps them untouched


def build_model(blueprint: Blueprint, signature: Signature | None = None, *,
                seed: int | None = None) -> KilnModel | ExternalModel | Bagged:
    """Build the blueprint's model with shapes checked; same seed → same initial weights.

    With `training.bagging: k` above 1 the model is `Bagged`: k members, member i built
    with seed + i. `signature` defaults to what the blueprint declares. Raises `ShapeError`
    (block path and both shapes), `BlueprintError` (unknown block, bad argument) or
    `PluginError`.
    """
    seed = blueprint.seed if seed is None else seed
    members = blueprint.training.bagging
    if members > 1:
        return Bagged([build_member(blueprint, signature, seed=seed + i)
                       for i in range(members)])
    return build_member(blueprint, signature, seed=seed)


def build_member(blueprint: Blueprint, signature: Signature | None = None, *,
                 seed: int) -> KilnModel | ExternalModel:
    """One model of the blueprint's architecture (one member when it is bagged)."""
    signature = signature or declared_signature(blueprint)
    load_plugins(blueprint)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            if blueprint.architecture.model is not None:
                return _build_external(blueprint, signature)
            return _build_blocks(blueprint, signature)
        except BlueprintError as exc:  # name the file and line, as load-time errors do
            raise located(blueprint, exc) from None


def _build_blocks(blueprint: Blueprint, signature: Signature) -> KilnModel:
    arch = blueprint.architecture
    names = signature.input_names
    for key in arch.encoders:
        if key not in names:
            raise BlueprintError(f"architecture.encoders.{key}: no input named {key!r}"
                                 f"{did_you_mean(key, names)} (inputs: {', '.join(names)})")
    rows: list[LayerRow] = []
    encoders = nn.ModuleDict()
    encoded: dict[str, Shape] = {}
    for spec in signature.inputs:
        declared = arch.encoders.get(spec.name)
        default = declared is None
        blocks = default_encoder(spec) if declared is None else declared
        path = f"architecture.encoders.{spec.name}"
        if spec.kind == "category" and spec.vocab_size is None:
            raise BlueprintError(
                f"data.features ({spec.name}): the number of categories is unknown before "
                f"reading data, so its embedding cannot be sized — declare `categories: "
                f"[...]` for this feature (training learns them from the data)")
        module, shape, dtype = build_sequence(blocks, spec.shape, _dtype(spec), path, rows,
                                              vocab_size=spec.vocab_size, default=default)
        if dtype != torch.float32:
            raise ShapeError(f"{path}: the encoder of a {spec.kind} input must turn ids into "
                             f"vectors — start it with an embedding block")
        encoders[spec.name] = module
        encoded[spec.name] = shape

    combiner = _build_combiner(arch.combiner, encoded, rows)
    hidden = _dry_run(combiner, [encoded[n] for n in names], [torch.float32] * len(names),
                      f"architecture.combiner ({arch.combiner.type})")[0]
    rows[-1].out_shape = hidden
    trunk, hidden, _ = build_sequence(arch.trunk, hidden, torch.float32, "architecture.trunk",
                                      rows)
    heads = nn.ModuleDict()
    for key in arch.heads:
        if key not in signature.output_names:
            raise BlueprintError(f"architecture.heads.{key}: no target named {key!r}"
                                 f"{did_you_mean(key, signature.output_names)}")
    for out in signature.outputs:
        path = f"architecture.heads.{out.name}"
        body, shape, _ = build_sequence(arch.heads.get(out.name, []), hidden, torch.float32,
                                        path, rows)
        if len(shape) != 1:
            raise ShapeError(f"{path}.output (linear): expects (N, features), got {show(shape)} "
                             f"— end the trunk with flatten, global_avg_pool or seq_pool")
        projection = nn.Linear(shape[0], out.size)
        rows.append(LayerRow(f"{path}.output", f"{out.type} head", projection, shape,
                             (out.size,), default=True))
        heads[out.name] = nn.Sequential(*body, projection) if len(body) else projection
    model = KilnModel(encoders, combiner, trunk, heads, names, signature.output_names)
    model.layer_rows = rows
    return model


def default_encoder(spec: InputSpec) -> list[BlockSpec]:
    """What an input gets when the blueprint gives it no encoder."""
    if spec.kind == "category":
        size = spec.vocab_size or 2
        dim = int(min(32, max(4, round(1.6 * size ** 0.56))))  # fast.ai's rule of thumb
        return [BlockSpec(type="embedding", args={"dim": dim})]
    if spec.kind == "tokens":
        return [BlockSpec(type="embedding", args={"dim": 32}), BlockSpec(type="seq_pool")]
    if spec.kind == "image":
        return [BlockSpec(type="flatten")]
    return []


def build_sequence(blocks: list[BlockSpec], in_shape: Shape, dtype: torch.dtype, path: str,
                   rows: list[LayerRow], *, vocab_size: int | None = None, depth: int = 0,
                   default: bool = False) -> tuple[nn.Sequential, Shape, torch.dtype]:
    """Build blocks one after another, each sized by the shape its predecessor produced."""
    modules: list[nn.Module] = []
    shape = in_shape
    for i, spec in enumerate(blocks):
        where = f"{path}[{i}]"
        if spec.type == "repeat":
            module, shape, dtype = _build_repeat(spec, shape, dtype, where, rows, depth)
            modules.append(module)
            continue
        entry = lookup(spec.type, "block", where)
        args = entry.validate_args(spec.args, where)
        context: dict[str, Any] = {"in_shape": shape, "vocab_size": vocab_size}
        row_index = len(rows)
        if entry.takes_blocks:
            inner, inner_shape, _ = build_sequence(spec.blocks or [], shape, dtype,
                                                   f"{where}.blocks", rows, depth=depth + 1)
            context["blocks"] = BuiltBlocks(inner, shape, inner_shape)
        elif spec.blocks:
            raise BlueprintError(f"{where}: block {spec.type!r} does not take nested blocks")
        module, out_shape, out_dtype = _build_block(entry, context, args, dtype, where)
        rows.insert(row_index, LayerRow(where, spec.type, module, shape, out_shape, depth,
                                        default))
        modules.append(module)
        shape, dtype = out_shape, out_dtype
        vocab_size = None  # only the first block sees raw ids
    return nn.Sequential(*modules), shape, dtype


def _build_block(entry: Entry, context: dict[str, Any], args: dict[str, Any],
                 dtype: torch.dtype, where: str) -> tuple[nn.Module, Shape, torch.dtype]:
    """Build one block and dry-run it; integer-id inputs get a hint to embed them first."""
    shape = context["in_shape"]
    try:
        module = _call_builder(entry, context, args, where)
        out_shape, out_dtype = _dry_run(module, [shape], [dtype], f"{where} ({entry.name})")
    except ShapeError as exc:
        if dtype != torch.int64 or "embedding" in str(exc):
            raise
        raise ShapeError(f"{exc} — this input holds integer ids: start the encoder with an "
                         f"embedding block") from None
    return module, out_shape, out_dtype


def _build_repeat(spec: BlockSpec, shape: Shape, dtype: torch.dtype, where: str,
                  rows: list[LayerRow], depth: int) -> tuple[nn.Module, Shape, torch.dtype]:
    times = spec.args.get("times")
    if not isinstance(times, int) or isinstance(times, bool) or times < 1:
        raise BlueprintError(f"{where}.times: {times!r} is not a positive integer")
    unknown = set(spec.args) - {"times"}
    if unknown:
        raise BlueprintError(f"{where}: unknown argument(s) of 'repeat': {sorted(unknown)} "
                             f"(accepted: times, blocks)")
    group = []
    for k in range(times):
        module, shape, dtype = build_sequence(spec.blocks or [], shape, dtype,
                                              f"{where}.blocks#{k + 1}", rows, depth=depth + 1)
        group.append(module)
    return nn.Sequential(*group), shape, dtype


def _build_combiner(spec: BlockSpec, encoded: dict[str, Shape], rows: list[LayerRow]) -> nn.Module:
    where = "architecture.combiner"
    entry = lookup(spec.type, "combiner", where)
    args = entry.validate_args(spec.args, where)
    module = _call_builder(entry, {"in_shapes": dict(encoded)}, args, where)
    first = next(iter(encoded.values()))
    rows.append(LayerRow(where, spec.type, module, first, first))
    return module


def _call_builder(entry: Entry, context: dict[str, Any], args: dict[str, Any],
                  where: str) -> nn.Module:
    """Call a builder with the context arguments it declares plus the blueprint's arguments."""
    shape = context.get("in_shape")
    if shape is not None:  # what nn.Module-style blocks ask for
        context = {**context, "in_features": shape[-1] if shape else None,
                   "in_channels": shape[0] if shape else None}
    kwargs = {k: v for k, v in context.items() if k in entry.accepts}
    kwargs.update(args)
    try:
        module = entry.builder(**kwargs)
    except ShapeError as exc:
        raise ShapeError(f"{where} ({entry.name}): {exc}") from None
    except KilnError:
        raise
    except Exception as exc:
        got = show(shape) if shape is not None else str(context.get("in_shapes"))
        raise ShapeError(f"{where} ({entry.name}): cannot be built for input {got}: "
                         f"{type(exc).__name__}: {exc}") from None
    if not isinstance(module, nn.Module):
        raise PluginError(f"{where} ({entry.name}): the builder returned "
                          f"{type(module).__name__}, not an nn.Module")
    return module


def _dry_run(module: nn.Module, shapes: list[Shape], dtypes: list[torch.dtype],
             where: str) -> tuple[Shape, torch.dtype]:
    """Run a zero batch through `module`; return the per-sample output shape and dtype."""
    batch = [torch.zeros((DRY_BATCH, *s), dtype=d) for s, d in zip(shapes, dtypes, strict=True)]
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            out = module(*batch)
    except Exception as exc:
        got = ", ".join(show(s) for s in shapes)
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ShapeError(f"{where}: does not accept input {got}: {detail}") from None
    finally:
        module.train(was_training)
    if not isinstance(out, torch.Tensor):
        raise ShapeError(f"{where}: returned {type(out).__name__}; a block returns one tensor")
    return tuple(out.shape[1:]), out.dtype


def _dtype(spec: InputSpec) -> torch.dtype:
    return torch.int64 if spec.dtype == "int64" else torch.float32


def _build_external(blueprint: Blueprint, signature: Signature) -> ExternalModel:
    cls = import_model_class(blueprint)
    kwargs = dict(blueprint.architecture.kwargs)
    accepted = inspect.signature(cls).parameters
    if "signature" in accepted:  # a model may size itself from kiln's signature
        kwargs.setdefault("signature", signature)
    try:
        inner = cls(**kwargs)
    except TypeError as exc:
        raise PluginError(f"architecture.kwargs: {blueprint.architecture.model} rejected its "
                          f"arguments: {exc}") from None
    if not isinstance(inner, nn.Module):
        raise PluginError(f"architecture.model: {blueprint.architecture.model} is not an "
                          f"nn.Module subclass")
    model = ExternalModel(inner, signature.input_names, signature.output_names)
    shapes = [s.shape for s in signature.inputs]
    dtypes = [_dtype(s) for s in signature.inputs]
    model.layer_rows = _external_rows(model, shapes, dtypes)
    return model


def _external_rows(model: ExternalModel, shapes: list[Shape],
                   dtypes: list[torch.dtype]) -> list[LayerRow]:
    """Rows for a whole-model class: its direct children, shapes seen by forward hooks."""
    seen: dict[str, tuple[Shape, Shape]] = {}
    handles = []
    for name, child in model.inner.named_children():
        def hook(mod: nn.Module, args: tuple[Any, ...], out: Any, name: str = name) -> None:
            first_in = args[0] if args and isinstance(args[0], torch.Tensor) else None
            in_shape = tuple(first_in.shape[1:]) if first_in is not None else ()
            out_shape = tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else ()
            seen.setdefault(name, (in_shape, out_shape))
        handles.append(child.register_forward_hook(hook))
    batch = [torch.zeros((DRY_BATCH, *s), dtype=d) for s, d in zip(shapes, dtypes, strict=True)]
    model.eval()
    try:
        with torch.no_grad():
            outs = model(*batch)
    except Exception as exc:
        raise ShapeError(f"architecture.model: forward on a zero batch of "
                         f"{', '.join(show(s) for s in shapes)} failed: {exc}") from None
    finally:
        for handle in handles:
            handle.remove()
        model.train()
    if len(outs) != len(model.output_names):
        raise ShapeError(f"architecture.model: returns {len(outs)} output(s), the task has "
                         f"{len(model.output_names)} target(s) ({', '.join(model.output_names)})")
    return [LayerRow(f"architecture.model.{name}", type(child).__name__, child,
                     *seen.get(name, ((), ())))
            for name, child in model.inner.named_children()]
