"""What a model takes and gives: one `InputSpec` per encoder input, one `OutputSpec` per head.

The signature is derived from the blueprint's declared features and task; when something is
only known from data (a vocabulary, the class labels) the data stage supplies it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from kiln.blueprint.schema import Blueprint, FeatureSpec, TaskSpec
from kiln.errors import BlueprintError, DataError

InputKind = Literal["vector", "category", "tokens", "image"]


@dataclass(frozen=True)
class InputSpec:
    """One model input. `shape` excludes the batch axis."""

    name: str
    kind: InputKind
    shape: tuple[int, ...]
    dtype: Literal["float32", "int64"]
    features: tuple[str, ...]
    # category / tokens: size of the id table, the unknown and padding ids included.
    vocab_size: int | None = None


@dataclass(frozen=True)
class OutputSpec:
    """One model output (head): logits for classification, values for regression."""

    name: str
    type: Literal["classification", "multilabel", "regression"]
    size: int
    labels: tuple[str, ...] | None = None
    loss_weight: float = 1.0


@dataclass(frozen=True)
class Signature:
    inputs: tuple[InputSpec, ...]
    outputs: tuple[OutputSpec, ...]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def input_names(self) -> list[str]:
        return [i.name for i in self.inputs]

    @property
    def output_names(self) -> list[str]:
        return [o.name for o in self.outputs]

    def to_dict(self) -> dict[str, Any]:
        return {"inputs": [asdict(i) for i in self.inputs],
                "outputs": [asdict(o) for o in self.outputs]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signature:
        inputs = tuple(
            InputSpec(**{**i, "shape": tuple(i["shape"]), "features": tuple(i["features"])})
            for i in data["inputs"]
        )
        outputs = tuple(
            OutputSpec(**{**o, "labels": tuple(o["labels"]) if o.get("labels") else None})
            for o in data["outputs"]
        )
        return cls(inputs, outputs)


def inputs_from_features(features: list[FeatureSpec],
                         vocab_sizes: dict[str, int] | None = None) -> tuple[InputSpec, ...]:
    """Group features into model inputs, in first-appearance order.

    Numeric and binary features share the "tabular" vector (or their `group`); a categorical,
    text or image feature is an input of its own. `vocab_sizes` (from fitted preprocessing)
    overrides the declared sizes.
    """
    vocab_sizes = vocab_sizes or {}
    groups: dict[str, list[FeatureSpec]] = {}
    for feature in features:
        groups.setdefault(feature.input_name, []).append(feature)
    specs = []
    for name, members in groups.items():
        kinds = {m.type for m in members}
        first = members[0]
        if kinds <= {"numeric", "binary"}:
            specs.append(InputSpec(name, "vector", (len(members),), "float32",
                                   tuple(m.name for m in members)))
        elif len(members) > 1:
            raise BlueprintError(
                f"data.features: group {name!r} mixes {sorted(kinds)} features — only numeric "
                f"and binary features can share a group; give the others their own group"
            )
        elif first.type == "categorical":
            size = vocab_sizes.get(first.name)
            if size is None and first.categories is not None:
                size = len(first.categories) + 1  # id 0 is the unknown bucket
            specs.append(InputSpec(name, "category", (), "int64", (first.name,), size))
        elif first.type == "text":
            size = vocab_sizes.get(first.name, first.vocab_size)
            specs.append(InputSpec(name, "tokens", (first.max_length,), "int64",
                                   (first.name,), size))
        else:  # image
            if first.shape is None:
                raise BlueprintError(
                    f"data.features[{features.index(first)}] ({first.name}): an image feature "
                    f"needs `shape: [channels, height, width]`"
                )
            specs.append(InputSpec(name, "image", tuple(first.shape), "float32", (first.name,)))
    return tuple(specs)


def outputs_from_task(task: TaskSpec,
                      labels: dict[str, list[str]] | None = None) -> tuple[OutputSpec, ...]:
    """One output per target; class labels from data override the declared ones."""
    labels = labels or {}
    outputs = []
    for i, target in enumerate(task.targets):
        known = labels.get(target.name) or target.labels
        if target.type == "regression":
            size = len(target.source_columns)
        elif target.type == "multilabel":
            size = len(target.source_columns)
            known = known or target.source_columns
        else:
            size = len(known) if known else (target.num_classes or 0)
            if known and size == 1:
                raise one_class_error(target.name, known[0], f"task.targets[{i}]")
            if size < 2:
                raise BlueprintError(
                    f"task.targets[{i}] ({target.name}): the number of classes is unknown "
                    f"before reading data — declare num_classes or labels"
                )
        outputs.append(OutputSpec(target.name, target.type, size,
                                  tuple(str(x) for x in known) if known else None,
                                  target.loss_weight))
    return tuple(outputs)


def one_class_error(target: str, label: object, where: str) -> DataError:
    """A classification target with a single class: nothing to tell apart."""
    return DataError(f"target {target!r} has one class ({str(label)!r}) — a classifier needs "
                     f"at least two; check the target column, or choose another target",
                     where=where)


def declared_signature(blueprint: Blueprint) -> Signature:
    """The signature from what the blueprint declares, without reading data."""
    if not blueprint.data.features:
        raise BlueprintError(
            "data.features: not declared, so input shapes are unknown before reading data — "
            "declare the features (`kiln init` writes them for you)"
        )
    return Signature(inputs_from_features(blueprint.data.features),
                     outputs_from_task(blueprint.task))
