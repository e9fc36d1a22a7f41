"""`kiln init`: a table → a starter blueprint that loads, builds and passes `kiln design`.

The blueprint is written as commented YAML: every inferred feature carries the reason it
was given its type, every section says what it is for, so the file teaches the format
while it is edited. The architecture is a sensible baseline, not a tuned one: an MLP trunk
with batch normalisation and dropout for tabular data, and a small encoder for each image
or text input (conv stack, or embedding + one Transformer layer).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from kiln.errors import DataError, KilnError

if TYPE_CHECKING:
    import pandas as pd

    from kiln.blueprint.schema import FeatureSpec, TaskType
    from kiln.data.infer import ColumnInference
    from kiln.starter import Starter

LATENCY_BUDGET_MS = 50.0  # generous: a starter model is far below it on any CPU
COMMENT_COLUMN = 48  # where trailing comments start, so the file reads as two columns


@dataclass
class Scaffold:
    """What `kiln init` inferred and wrote (the CLI prints it; `--json` dumps it)."""

    text: str
    path: Path | None
    rows: int
    task: dict[str, TaskType]  # target → task type
    columns: list[ColumnInference]
    params: int
    starter: str = ""  # which starter model was written, and why


def init_blueprint(data_path: str | Path, target: str | Sequence[str],
                   output: str | Path | None = None, *, force: bool = False,
                   seed: int = 0) -> str:
    """Infer a starter blueprint from a table (.csv, .parquet, .npz, an image folder or
    `sklearn:NAME`); return its YAML text.

    With `output`, the file is also written (atomically); an existing file is kept unless
    `force`. `seed` is the blueprint's seed: its splits, initial weights and batch order
    (another seed is another draw of all three — a second opinion on a small table).
    Raises `DataError` (missing or empty table, unknown target column) or `KilnError`
    (output exists, a seed that is not a whole number ≥ 0).
    """
    return scaffold(data_path, target, output, force=force, seed=seed).text


def scaffold(data_path: str | Path, target: str | Sequence[str],
             output: str | Path | None = None, *, force: bool = False,
             seed: int = 0) -> Scaffold:
    """`init_blueprint` with everything it inferred (for the CLI's summary)."""
    from kiln.data.infer import infer_report, infer_task

    data = str(data_path)
    out = Path(output) if output is not None else None
    if out is not None and out.exists() and not force:
        raise KilnError(f"{out} already exists — choose another path with -o, or pass "
                        f"--force to overwrite it")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise KilnError(f"seed: {seed!r} is not a whole number ≥ 0 — give one such as 0 or 42")
    targets = [target] if isinstance(target, str) else list(target)
    df, base_dir, origin = read_source(data)
    columns = infer_report(df, targets, base_dir=base_dir)
    tasks = {t: infer_task(df, t) for t in targets}
    if not any(c.feature for c in columns):
        raise DataError(f"{origin}: no usable feature columns (all are targets, constant, empty "
                        f"or ids) — check the table or the --target option")
    source = _relative_source(data, out)
    name = _slug(Path(data.removeprefix("sklearn:")).stem)
    draft = render(origin, name, source, df, columns, tasks, params=None, seed=seed)
    params = _count_params(draft)
    text = render(origin, name, source, df, columns, tasks, params=params, seed=seed)
    if out is not None:
        write_atomic(out, text)
    from kiln.starter import choose_starter

    starter = choose_starter([c.feature for c in columns if c.feature is not None], len(df))
    return Scaffold(text, out, len(df), tasks, columns, params, starter.reason)


def read_source(data: str) -> tuple[pd.DataFrame, Path | None, str]:
    """Load a table the way the data stage will (`kiln.data.sources.load_source`): a .csv,
    .parquet or .npz file, an image folder or `sklearn:NAME`. Returns the rows, the folder
    relative paths inside it resolve against, and the name to print."""
    from kiln.data.sources import load_source

    table = load_source(data)
    table.frame.columns = [str(c) for c in table.frame.columns]
    return table.frame, table.base_dir, table.origin


def write_atomic(path: Path, text: str) -> None:
    """Write through a temporary file in the same folder, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


# --------------------------------------------------------------------------- rendering


def render(origin: str, name: str, source: str, df: pd.DataFrame,
           columns: list[ColumnInference], tasks: dict[str, TaskType], *,
           params: int | None, seed: int = 0) -> str:
    """The commented YAML text of the starter blueprint."""
    from kiln.starter import choose_starter

    features = [c.feature for c in columns if c.feature is not None]
    skipped = [c for c in columns if c.role == "skipped"]
    starter = choose_starter(features, len(df))
    lines = [
        f"# Starter blueprint written by `kiln init` from {Path(origin).name} "
        f"({len(df):,} rows, {len(df.columns)} columns).",
        "# Check the inferred feature types, then run `kiln design` and `kiln train` on it.",
        "# Every key is described in docs/blueprint.md.",
        f"name: {_flow(name)}",
        _commented(f"seed: {seed}", "splits, initial weights and batch order"),
        "",
        *_task_lines(df, tasks),
        "",
        *_data_lines(source, columns, features, skipped, tasks),
        "",
        *_architecture_lines(features, starter),
        "",
        *_training_lines(starter),
        "",
    ]
    lines += _budget_lines(params)
    return "\n".join(line.rstrip() for line in lines) + "\n"


def _task_lines(df: pd.DataFrame, tasks: dict[str, TaskType]) -> list[str]:
    lines = ["# What the model predicts and how it is judged."]
    kinds = set(tasks.values())
    metrics = (["accuracy", "f1_macro"] if "regression" not in kinds
               else ["r2", "mae"] if kinds == {"regression"} else [])
    lines.append("task:")
    if len(tasks) == 1:
        (name, kind), = tasks.items()
        lines.append(_commented(f"  type: {kind}", _task_reason(df, name, kind)))
        lines.append(f"  target: {_flow(name)}")
        lines += _classes_line("  ", df, name, kind)
    else:
        lines.append(_commented("  targets:", "one head per target (multi-task)"))
        for name, kind in tasks.items():
            lines.append(_commented(f"    - name: {_flow(name)}", _task_reason(df, name, kind)))
            lines.append(f"      type: {kind}")
            lines += _classes_line("      ", df, name, kind)
    if metrics:
        lines.append(_commented(f"  metrics: {_flow(metrics)}",
                                "the first one is the objective"))
    return lines


def _task_reason(df: pd.DataFrame, name: str, kind: str) -> str:
    distinct = int(df[name].nunique())
    if kind == "regression":
        return f"inferred: {name} is numeric with {distinct} distinct values"
    return f"inferred: {name} has {distinct} classes"


def _classes_line(indent: str, df: pd.DataFrame, name: str, kind: str) -> list[str]:
    if kind != "classification":
        return []
    classes = sorted(str(v) for v in df[name].dropna().unique())
    shown = ", ".join(classes[:8]) + (", …" if len(classes) > 8 else "")
    return [_commented(f"{indent}num_classes: {len(classes)}", f"{shown}; sizes the head "
                       f"before any data is read")]


def _data_lines(source: str, columns: list[ColumnInference], features: list[FeatureSpec],
                skipped: list[ColumnInference], tasks: dict[str, TaskType]) -> list[str]:
    reasons = {c.column: c.reason for c in columns}
    lines = ["# Where the data comes from and what its columns are (inferred; edit freely).",
             "data:",
             _commented(f"  source: {_flow(source)}", "bundled dataset" if
                        source.startswith("sklearn:") else "relative to this blueprint"),
             "  features:"]
    for feature in features:
        entry = feature.model_dump(exclude_defaults=True, mode="json")
        entry = {"name": entry.pop("name"), "type": entry.pop("type"), **entry}
        lines.append(_commented(f"    - {_flow(entry)}", reasons[feature.name]))
    if skipped:
        lines.append(_commented("  ignore:", "columns that are not used"))
        lines += [_commented(f"    - {_flow(c.column)}", c.reason) for c in skipped]
    method = "stratified" if set(tasks.values()) == {"classification"} else "holdout"
    why = "keeps class shares in every split" if method == "stratified" else "random rows"
    lines.append(_commented(f"  split: {{method: {method}, test: 0.2, val: 0.1}}", why))
    return lines


def _architecture_lines(features: list[FeatureSpec], starter: Starter) -> list[str]:
    from kiln.model.signature import inputs_from_features

    lines = ["# encoders (one per input) → combiner → trunk → one output head per target.",
             f"# Starter model: {starter.reason}.",
             "architecture:"]
    encoders: list[str] = []
    for spec in inputs_from_features(features):
        blocks = _encoder_for(spec.kind, spec.shape, spec.vocab_size)
        if not blocks and spec.kind == "vector" and starter.numeric_encoder:
            blocks = starter.numeric_encoder
        if blocks:
            encoders.append(f"    {_flow(spec.name)}:")
            encoders += [_commented(f"      - {_flow(b)}", why) for b, why in blocks]
        else:
            note = f"{spec.shape[0]} numeric/binary features, standardised"
            encoders.append(f"    # {spec.name}: no encoder — the {note}, go straight "
                            f"to the combiner")
    if any(not line.lstrip().startswith("#") for line in encoders):
        lines += ["  encoders:", *encoders]
    else:  # only comments: an empty mapping keeps the key valid YAML
        lines += ["  encoders: {}", *encoders]
    lines.append(_commented("  combiner: concat", "joins the encoded inputs into one vector"))
    if starter.trunk:
        lines.append("  trunk:")
        lines += [_commented(f"    - {_flow(b)}", why) for b, why in starter.trunk]
    else:
        lines.append(_commented("  trunk: []", "no hidden layers: the heads see the inputs "
                                "(a linear model)"))
    lines.append("  # each head is a linear layer added by kiln: logits or a regression value")
    return lines


def _training_lines(starter: Starter) -> list[str]:
    t = starter.training
    stopping = f"{{patience: {t['patience']}, min_epochs: {t['min_epochs']}}}"
    return ["# How the model is fitted (defaults: docs/blueprint.md#training), scaled to a "
            f"{starter.size} table.",
            "training:",
            _commented(f"  epochs: {t['epochs']}", "upper bound; early stopping usually "
                       "ends sooner"),
            _commented(f"  batch_size: {t['batch_size']}", ""),
            _commented("  lr: 0.001", "AdamW with a cosine schedule"),
            *([_commented(f"  weight_decay: {t['weight_decay']}", "strong, as ridge "
                          "regression's penalty: a small table overfits")]
              if "weight_decay" in t else []),
            _commented(f"  early_stopping: {stopping}", "epochs without a lower validation "
                       "loss; never before min_epochs"),
            _commented("  select: loss", "the epoch with the lowest validation loss is kept "
                       "(a small validation split's accuracy saturates early)"),
            *([_commented(f"  bagging: {t['bagging']}", f"{t['bagging']} models, each "
                          f"trained on all train + validation rows but one fold and stopped "
                          f"on that fold; the model is their average")]
              if "bagging" in t else []),
            *([_commented(f"  threads: {t['threads']}", "a table's small batches train "
                          "fastest on one CPU thread")] if "threads" in t else []),
            ]


def _encoder_for(kind: str, shape: tuple[int, ...],
                 vocab: int | None) -> list[tuple[Any, str]]:
    """A small baseline encoder per input kind, as (YAML block, comment) pairs."""
    if kind == "image":
        side = min(shape[1:])
        pool = ([({"maxpool2d": {"kernel_size": 2}}, "halves height and width")]
                if side >= 8 else [])
        return [({"conv2d": {"out_channels": 16, "kernel_size": 3}}, "padding 'same'"),
                ("batchnorm", ""), ("relu", ""), *pool,
                ({"conv2d": {"out_channels": 32, "kernel_size": 3}}, ""),
                ("batchnorm", ""), ("relu", ""),
                ("global_avg_pool", "(N, 32): one vector per image")]
    if kind == "tokens":
        return [({"embedding": {"dim": 32}}, "token ids → (N, length, 32)"),
                ({"transformer_encoder": {"heads": 4, "ff": 64, "dropout": 0.1}}, ""),
                ({"seq_pool": {"mode": "mean"}}, "(N, 32): one vector per text")]
    if kind == "category":
        size = vocab or 2
        dim = int(min(32, max(4, round(1.6 * size ** 0.56))))
        return [({"embedding": {"dim": dim}}, f"{size - 1} categories + unknown → (N, {dim})")]
    return []


def _budget_lines(params: int | None) -> list[str]:
    lines = ["# Limits `kiln design` checks (exit code 1 when one is broken).", "budgets:"]
    if params is None:
        return [*lines, "  max_params: 1"]
    limit = _round_up(params * 2)
    return [*lines,
            _commented(f"  max_params: {limit}", f"2× the starter model's {params:,}"),
            _commented(f"  max_latency_ms: {LATENCY_BUDGET_MS:g}", "CPU, batch 1"), ""]


# --------------------------------------------------------------------------- helpers


def _count_params(text: str) -> int:
    """Parameters of the model a draft blueprint builds (it must load and build)."""
    from kiln.blueprint.load import load_blueprint
    from kiln.model.builder import build_model

    blueprint = load_blueprint(yaml.safe_load(text))
    model = build_model(blueprint)
    return sum(p.numel() for p in model.parameters())


def _relative_source(data: str, output: Path | None) -> str:
    if data.startswith("sklearn:"):
        return data
    base = output.resolve().parent if output is not None else Path.cwd()
    try:
        return Path(os.path.relpath(Path(data).resolve(), base)).as_posix()
    except ValueError:  # another drive on Windows
        return Path(data).resolve().as_posix()


def _round_up(n: int) -> int:
    """Up to two significant digits: 23_456 → 24_000."""
    if n < 100:
        return 100
    scale = 10 ** (int(math.log10(n)) - 1)
    return math.ceil(n / scale) * scale


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]+", "_", text).strip("_").lower() or "model"


def _flow(value: Any) -> str:
    """One YAML value on one line (flow style), quoted only where YAML needs it."""
    return yaml.safe_dump(value, default_flow_style=True, width=10_000,
                          allow_unicode=True, sort_keys=False).strip().removesuffix("\n...").strip()


def _commented(line: str, comment: str) -> str:
    if not comment:
        return line
    return f"{line.ljust(COMMENT_COLUMN - 1)} # {comment}"
