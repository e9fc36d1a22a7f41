"""The blueprint: one YAML file that drives every stage, as pydantic models.

Validation happens once, at load time (`kiln.blueprint.load_blueprint`); code after that
trusts the validated object. Every model forbids unknown keys so that a typo is an error
with a suggestion, not a silently ignored setting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from kiln.blueprint.compress_spec import CompressSpec
from kiln.blueprint.monitor_spec import MonitorSpec
from kiln.blueprint.retrain_spec import RetrainSpec
from kiln.blueprint.search_spec import SearchSettings
from kiln.blueprint.section import Section
from kiln.blueprint.serve_spec import ServeSpec
from kiln.blueprint.stream_spec import StreamSpec
from kiln.blueprint.threshold_spec import ThresholdSpec
from kiln.metrics import lower_is_better, metric_names

PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
Fraction = Annotated[float, Field(ge=0, lt=1)]

FeatureType = Literal["numeric", "binary", "categorical", "text", "image"]
TaskType = Literal["classification", "multilabel", "regression"]


# --------------------------------------------------------------------------- task


class TargetSpec(Section):
    """One output of the model; several targets make a multi-task model."""

    name: str
    type: TaskType = "classification"
    # Multi-label targets read one 0/1 column per label; default: the column named `name`.
    columns: list[str] | None = None
    # Known before any data is read, so `kiln design` can size the head. Inferred when absent.
    num_classes: PositiveInt | None = None
    labels: list[str] | None = None
    # Weight of this head's loss in a multi-task sum.
    loss_weight: PositiveFloat = 1.0

    @property
    def source_columns(self) -> list[str]:
        return self.columns or [self.name]


# Accepted metric names come from the metric registry (`kiln.metrics`, one decorator each).
CLASSIFICATION_METRICS = metric_names("classification")
MULTILABEL_METRICS = metric_names("multilabel")
REGRESSION_METRICS = metric_names("regression")


class TaskSpec(Section):
    """What the model predicts and how it is judged.

    Write `type` + `target` for one output, or `targets` for several (multi-task).
    """

    targets: list[TargetSpec] = Field(min_length=1)
    metrics: list[str] = Field(default_factory=list)
    # The metric that early stopping, tuning and model selection optimise (validation split).
    objective: str | None = None
    # Binary classification: the decision threshold chosen on validation under a constraint
    # or a cost matrix, stored in the bundle (kiln.blueprint.threshold_spec).
    threshold: ThresholdSpec | None = None

    @model_validator(mode="before")
    @classmethod
    def _single_target_shortcut(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "targets" in data:
            return data
        data = dict(data)
        target: dict[str, Any] = {}
        for key in ("type", "num_classes", "labels", "columns"):
            if key in data:
                target[key] = data.pop(key)
        if "target" in data:
            name = data.pop("target")
            if isinstance(name, list):  # multi-label: one column per label
                target.setdefault("columns", name)
                target.setdefault("type", "multilabel")
                name = "labels"
            target["name"] = name
            data["targets"] = [target]
        return data

    @model_validator(mode="after")
    def _metrics_fit_task(self) -> TaskSpec:
        kinds = {t.type for t in self.targets}
        allowed: set[str] = set()
        for kind in kinds:
            allowed |= set(metric_names_for(kind))
        if not self.metrics:
            self.metrics = [DEFAULT_METRIC[t] for t in sorted(kinds)]
        for i, metric in enumerate(self.metrics):
            if metric not in allowed:
                raise ValueError(
                    f"metrics[{i}]: {metric!r} is not a metric for {'/'.join(sorted(kinds))} "
                    f"— accepted: {', '.join(sorted(allowed))}"
                )
        if self.objective is None:
            self.objective = self.metrics[0]
        elif self.objective not in allowed:
            raise ValueError(
                f"objective: {self.objective!r} is not a metric for this task "
                f"— accepted: {', '.join(sorted(allowed))}"
            )
        if self.threshold is not None and [t.type for t in self.targets] != ["classification"]:
            raise ValueError("threshold: a decision threshold needs one binary classification "
                             "target")
        names = [t.name for t in self.targets]
        if len(set(names)) != len(names):
            raise ValueError(f"targets: names must be unique, got {names}")
        return self

    @property
    def direction(self) -> Literal["maximize", "minimize"]:
        return "minimize" if lower_is_better(self.objective or "") else "maximize"


DEFAULT_METRIC = {"classification": "accuracy", "multilabel": "f1_micro", "regression": "r2"}


def metric_names_for(task_type: str) -> tuple[str, ...]:
    return metric_names(task_type)


# --------------------------------------------------------------------------- data


class FeatureSpec(Section):
    """One input column and how it is prepared."""

    name: str
    type: FeatureType
    # Features with the same group share one encoder input; numeric and binary features
    # default to the group "tabular", every other feature is its own input.
    group: str | None = None
    # image: [channels, height, width] after resize.
    shape: list[PositiveInt] | None = None
    # categorical: the known categories (anything else maps to the unknown bucket).
    categories: list[str | int] | None = None
    # text: the vocabulary size and padded length of token ids.
    vocab_size: PositiveInt = 5000
    max_length: PositiveInt = 64
    # What to do with a missing value: fill it (mean/median/mode), drop the row, or stop.
    missing: Literal["impute", "drop", "error"] = "impute"
    impute: Literal["mean", "median", "most_frequent"] = "median"
    scale: Literal["standard", "minmax", "none"] = "standard"
    # image: random flips/shifts during training only.
    augment: bool = False

    @model_validator(mode="after")
    def _shape_for_images(self) -> FeatureSpec:
        if self.type == "image" and self.shape is not None and len(self.shape) != 3:
            raise ValueError(f"shape: {self.shape} must be [channels, height, width]")
        return self

    @property
    def input_name(self) -> str:
        if self.group:
            return self.group
        return "tabular" if self.type in ("numeric", "binary") else self.name


class SplitSpec(Section):
    """How rows are divided into train / validation / test."""

    method: Literal["holdout", "stratified", "kfold", "group", "time"] = "stratified"
    test: Fraction = 0.2
    val: Fraction = 0.1
    folds: Annotated[int, Field(ge=2)] = 5
    # group: rows sharing this column's value stay in one split; time: rows sorted by it.
    column: str | None = None

    @model_validator(mode="after")
    def _column_needed(self) -> SplitSpec:
        if self.method in ("group", "time") and not self.column:
            raise ValueError(f"column: required for the {self.method!r} split method")
        if self.test + self.val >= 0.9:
            raise ValueError(f"test + val = {self.test + self.val:.2f} leaves too little to train")
        return self


class DataSpec(Section):
    """Where the data comes from and what its columns are."""

    # sklearn:NAME, a .csv / .parquet / .npz file, or an image folder (one sub-folder per class).
    source: str
    # Declared features; when absent they are inferred from the data (as `kiln init` does).
    features: list[FeatureSpec] | None = None
    # Columns in the data that are neither features nor targets (ids, timestamps, ...).
    ignore: list[str] = Field(default_factory=list)
    split: SplitSpec = Field(default_factory=SplitSpec)
    # Rows with identical features (different respondents giving the same answers): `group`
    # keeps each set of copies inside one split, so none straddles train and test; `drop`
    # keeps the first copy only; `keep` splits rows as they come (copies across splits are
    # then reported as leakage warnings). docs/data.md#duplicate-rows
    duplicates: Literal["group", "drop", "keep"] = "group"
    # Features whose values define slices for per-slice metrics in `kiln evaluate`.
    slices: list[str] = Field(default_factory=list)
    # ±inf in a numeric feature: stop (error, naming column and rows), treat it as missing
    # (impute), or clip it to the column's finite range. Error by default: it is never right.
    non_finite: Literal["error", "impute", "clip"] = "error"
    # Read a CSV / Parquet source in record batches instead of loading it: true, false, or
    # auto (stream files of 1 GiB and more). docs/streaming.md
    streaming: bool | Literal["auto"] = "auto"
    stream: StreamSpec = Field(default_factory=StreamSpec)

    @field_validator("features")
    @classmethod
    def _unique_names(cls, features: list[FeatureSpec] | None) -> list[FeatureSpec] | None:
        if features:
            names = [f.name for f in features]
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                raise ValueError(f"feature names must be unique; repeated: {dupes}")
        return features


# --------------------------------------------------------------------------- architecture


class BlockSpec(Section):
    """One block: a registered type name and its arguments (nested blocks under `blocks`).

    YAML forms: `relu`, `{linear: {units: 64}}`, `{residual: [ ...blocks... ]}`.
    """

    type: str
    args: dict[str, Any] = Field(default_factory=dict)
    blocks: list[BlockSpec] | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_yaml_form(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"type": data}
        if isinstance(data, dict) and len(data) == 1 and "type" not in data:
            (name, args), = data.items()
            if args is None:
                args = {}
            if isinstance(args, list):
                return {"type": name, "blocks": args}
            if not isinstance(args, dict):
                raise ValueError(
                    f"block {name!r}: arguments must be a mapping, got {args!r} "
                    f"— write `{name}: {{key: value}}`"
                )
            args = dict(args)
            blocks = args.pop("blocks", None)
            return {"type": name, "args": args, "blocks": blocks}
        if isinstance(data, dict) and "type" in data:
            return data
        raise ValueError(
            f"a block is a name (`relu`) or a one-key mapping (`linear: {{units: 64}}`), "
            f"got {data!r}"
        )


class ArchitectureSpec(Section):
    """encoders (one per input) → combiner → trunk → one head per target; or a whole model."""

    encoders: dict[str, list[BlockSpec]] = Field(default_factory=dict)
    combiner: BlockSpec = Field(default_factory=lambda: BlockSpec(type="concat"))
    trunk: list[BlockSpec] = Field(default_factory=list)
    # Extra blocks per head before its output projection, keyed by target name.
    heads: dict[str, list[BlockSpec]] = Field(default_factory=dict)
    # `package.module:Class` — a complete nn.Module instead of blocks.
    model: str | None = None
    kwargs: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _model_or_blocks(self) -> ArchitectureSpec:
        if self.model is not None:
            if ":" not in self.model:
                raise ValueError(
                    f"model: {self.model!r} must look like 'package.module:ClassName'"
                )
            if self.encoders or self.trunk or self.heads:
                raise ValueError("model: a whole model class excludes encoders, trunk and heads")
        elif self.kwargs:
            raise ValueError("kwargs: only used together with `model`")
        return self


# --------------------------------------------------------------------------- training


class EarlyStoppingSpec(Section):
    # Epochs without improvement of the validation objective before stopping; null: never.
    patience: PositiveInt | None = 10
    min_delta: Annotated[float, Field(ge=0)] = 0.0
    # No stop before this many epochs: the first epochs of a small table are noise.
    min_epochs: Annotated[int, Field(ge=0)] = 0


class TrainingSpec(Section):
    epochs: PositiveInt = 30
    batch_size: PositiveInt = 64
    optimizer: Literal["adam", "adamw", "sgd"] = "adamw"
    lr: PositiveFloat = 1e-3
    weight_decay: Annotated[float, Field(ge=0)] = 1e-4
    # SGD only.
    momentum: Annotated[float, Field(ge=0, lt=1)] = 0.9
    scheduler: Literal["none", "cosine", "onecycle", "step", "plateau"] = "cosine"
    # step: decay lr by `gamma` every `step_size` epochs; plateau: by `gamma` after
    # `step_size` epochs without improvement.
    step_size: PositiveInt = 10
    gamma: Annotated[float, Field(gt=0, lt=1)] = 0.5
    # Max gradient norm; null disables clipping.
    grad_clip: PositiveFloat | None = None
    label_smoothing: Annotated[float, Field(ge=0, lt=1)] = 0.0
    # "balanced" weighs each class by the inverse of its training frequency.
    class_weights: Literal["none", "balanced"] = "none"
    early_stopping: EarlyStoppingSpec = Field(default_factory=EarlyStoppingSpec)
    # What picks the best epoch (and drives early stopping): the validation loss, which keeps
    # moving when a small validation split's accuracy has saturated; or the task objective
    # with the loss breaking ties (docs/train.md#model-selection).
    select: Literal["loss", "objective"] = "loss"
    # Bagging: train this many models, each on the training + validation rows less one of
    # as many folds and stopped on that fold, and average their outputs; validation metrics
    # are then out-of-fold over those rows. 1: one model, selected on the validation split
    # (docs/train.md#bagging).
    bagging: Annotated[int, Field(ge=1, le=50)] = 1
    # auto: CUDA when present, else Apple's MPS, else CPU (docs/train.md#devices).
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"
    # Mixed precision on CUDA only: bfloat16 where supported, else float16 + loss scaling.
    amp: bool = True
    # torch.compile the training forward; falls back to eager, with a warning, if it fails.
    compile: bool = False
    # torch CPU threads; null: PyTorch's default.
    threads: PositiveInt | None = None
    # Checkpoint after every N epochs, or `auto`: whenever the training since the last
    # write took at least 100× what that write cost (≤ ~1 % of the time; docs/train.md).
    checkpoint_every: PositiveInt | Literal["auto"] = "auto"


# --------------------------------------------------------------------------- budgets


class BudgetsSpec(Section):
    """Limits a model must respect; `kiln design` exits 1 when one is broken."""

    max_params: PositiveInt | None = None
    max_flops: PositiveInt | None = None
    max_latency_ms: PositiveFloat | None = None
    # Batch size at which max_latency_ms is measured.
    latency_batch_size: PositiveInt = 1
    max_size_mb: PositiveFloat | None = None
    # Largest allowed drop of the objective (in points of the metric, e.g. 0.005) for a
    # compressed variant compared with the trained PyTorch model.
    max_accuracy_drop: Annotated[float, Field(ge=0)] | None = None


# --------------------------------------------------------------------------- the whole


class Blueprint(Section):
    """A whole blueprint. `task`, `data` and `architecture` are required."""

    name: str = "model"
    # One seed for splits, initial weights and batch order: same seed + machine → same metrics.
    seed: int = 0
    # Python files, relative to the blueprint, that register custom blocks or combiners.
    plugins: list[str] = Field(default_factory=list)
    task: TaskSpec
    data: DataSpec
    architecture: ArchitectureSpec
    training: TrainingSpec = Field(default_factory=TrainingSpec)
    budgets: BudgetsSpec = Field(default_factory=BudgetsSpec)
    # Sections of later stages: typed here, so a typo fails at load with its key path.
    search: SearchSettings = Field(default_factory=SearchSettings)
    compress: CompressSpec = Field(default_factory=CompressSpec)
    serve: ServeSpec = Field(default_factory=ServeSpec)
    monitor: MonitorSpec = Field(default_factory=MonitorSpec)
    retrain: RetrainSpec = Field(default_factory=RetrainSpec)

    # Where the blueprint was read from: relative paths (data, plugins) resolve against it.
    _path: Path | None = PrivateAttr(default=None)
    # Key path → line in that file, for errors found after loading (kiln.blueprint.locate).
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)

    @property
    def path(self) -> Path | None:
        return self._path

    def set_source(self, path: str | Path | None) -> None:
        """Record where this blueprint came from: its relative paths resolve against the
        folder of `path` (None: the working directory)."""
        self._path = Path(path) if path is not None else None

    @property
    def base_dir(self) -> Path:
        return self._path.parent if self._path is not None else Path.cwd()

    def resolve(self, relative: str) -> Path:
        """A path from the blueprint, resolved against the blueprint's folder."""
        candidate = Path(relative).expanduser()
        return candidate if candidate.is_absolute() else self.base_dir / candidate
