"""The starter model and training settings `kiln init` writes for a table, by its size and
column types, each with the reason it is written in the blueprint's comments.

Rows decide the training settings: a small table gives few optimiser steps per epoch, so it
needs more epochs, a longer patience and a floor on the epochs before early stopping (the
validation split is tiny and noisy); a large one needs bigger batches and fewer epochs.

    rows          epochs  batch  patience  min_epochs  weight_decay    bagging
    < 100         200      8     20        20          3.0             5
    < 1,000       200     32     20        20          3.0             (1: one model)
    < 20,000      100     128    15        10          (default 1e-4)  5
    ≥ 20,000       50     256    10         5          (default 1e-4)  (1: one model)

A small table gets a strong decoupled weight decay (AdamW shrinks every weight by lr·3 per
step), the network's counterpart of ridge regression's penalty: on 178–569-row tables it
lifted diabetes from R² 0.486 to 0.526 and breast_cancer from 0.965 to 0.974 (BENCHMARKS.md).
A table without images trains on one CPU thread (`threads: 1`): the starter's batches are
so small that splitting each operation across threads costs more than it saves (on a busy
2-core machine a step was 5–15× slower with two threads, and iris trained in 1.8 s with one
against 49 s with two: `benchmarks/table_threads.py`).

Tiny and medium tables get a bagged model (`training.bagging: 5`, `kiln.train.bagging`):
five members, each trained on four fifths of the training + validation rows and stopped on
the fifth, averaged. Over seeds 0–3 of the real-tables benchmark (BENCHMARKS.md,
"Bagging") it moved the mean gap to the best classical peer on linnerud (20 rows) from
−0.089 to +0.065 R², on churn from −0.57 to 0.00 points, on survey from −0.71 to −0.46
points and on prices from +0.018 to +0.023 R² (digits +0.90 → +0.91 points). On the
100–1,000-row tables it did not pay for its five trainings: iris and diabetes gained,
breast_cancer and wine lost 0.7–0.9 points over 12 seeds, the mean over the four tables
unchanged (−0.0068 against −0.0067), so those stay one model. From 20,000 rows one
validation split is large and the five trainings cost the most, so one model there too.

Rows decide the architecture:

    tiny (< 100 rows)      no hidden layer: the heads on the inputs, a linear model with
                           strong weight decay — a few dozen rows hold nothing more to learn
    small (< 1,000 rows)   an MLP wrapped in a residual connection whose shortcut is a
                           linear projection: the model holds a linear model of its inputs,
                           which small tables often need, and the MLP adds what it can
    larger                 standardised numbers and category embeddings → linear → two
                           residual MLP blocks (Gorishniy et al. 2021), 64 wide (hidden
                           128) up to 20,000 rows and 256 wide from there

The medium width was 128 until a bagged model made five of them: over three instances of
the generated survey table × seeds 0–3 the 64-wide trunk cut the mean gap to the best peer
from −0.61 to −0.32 points, and churn, prices and digits moved by less than a test row
(BENCHMARKS.md, "Width of the medium starter"), at a quarter of the parameters — which a
bagged model pays five times over when it serves.

The larger starter once embedded the numbers with `piecewise_linear` (Gorishniy et al.
2022); on the real-tables benchmark the plain standardised numbers did better on every
table it was tried on (digits 0.967 → 0.981, survey 0.641 → 0.657, prices R² 0.920 →
0.927, churn 0.954 → 0.956), so the embedding stays a block to try, not the default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiln.blueprint.schema import FeatureSpec

TINY_ROWS = 100
SMALL_ROWS = 1_000
LARGE_ROWS = 20_000
SMALL_WEIGHT_DECAY = 3.0
BAGGING = 5  # members of a tiny or medium table's model (kiln.train.bagging)
MEDIUM_WIDTH = 64  # the 1,000–20,000-row trunk's width (its residual blocks: twice that)
# Features whose starter encoders are small enough to train fastest on one thread.
ONE_THREAD_TYPES = frozenset({"numeric", "binary", "categorical", "text"})

Line = tuple[Any, str]  # a YAML value (flow style) and its comment


@dataclass
class Starter:
    """What `kiln init` writes for the model and its training."""

    size: str  # "small", "medium" or "large"
    reason: str  # one line: why this architecture
    training: dict[str, Any]
    numeric_encoder: list[Line] = field(default_factory=list)
    trunk: list[Line] = field(default_factory=list)


def training_settings(rows: int) -> tuple[str, dict[str, Any]]:
    """(size name, training settings) for a table of `rows` rows."""
    if rows < TINY_ROWS:  # batches of 8: a 14-row training split still takes 2 steps an epoch
        return "tiny", {"epochs": 200, "batch_size": 8, "patience": 20, "min_epochs": 20,
                        "weight_decay": SMALL_WEIGHT_DECAY, "bagging": BAGGING}
    if rows < SMALL_ROWS:
        return "small", {"epochs": 200, "batch_size": 32, "patience": 20, "min_epochs": 20,
                         "weight_decay": SMALL_WEIGHT_DECAY}
    if rows < LARGE_ROWS:
        return "medium", {"epochs": 100, "batch_size": 128, "patience": 15, "min_epochs": 10,
                          "bagging": BAGGING}
    return "large", {"epochs": 50, "batch_size": 256, "patience": 10, "min_epochs": 5}


def choose_starter(features: list[FeatureSpec], rows: int) -> Starter:
    """The starter for a table with these (inferred) features and `rows` rows."""
    starter = starter_architecture(features, rows)
    members = starter.training.get("bagging")
    if members:
        starter.reason += f"; {members} of them bagged, each stopped on its own fold"
    return starter


def starter_architecture(features: list[FeatureSpec], rows: int) -> Starter:
    size, training = training_settings(rows)
    if all(f.type in ONE_THREAD_TYPES for f in features):
        training["threads"] = 1
    numeric = sum(f.type in ("numeric", "binary") for f in features)
    if size == "tiny":
        return Starter(size, f"{rows:,} rows: a tiny table — a linear model with strong weight "
                       f"decay; an MLP only fits the noise of so few rows", training, trunk=[])
    if size == "small":
        mlp = [{"linear": {"units": 64}}, "batchnorm", "relu", {"dropout": {"p": 0.2}},
               {"linear": {"units": 32}}, "batchnorm", "relu", {"dropout": {"p": 0.2}}]
        return Starter(size, f"{rows:,} rows: a small table, where a linear model is hard "
                       f"to beat — an MLP beside a linear shortcut", training,
                       trunk=[({"residual": mlp}, "MLP + linear shortcut (project: true)")])
    width = 256 if size == "large" else MEDIUM_WIDTH
    trunk: list[Line] = [
        ({"linear": {"units": width}}, ""),
        ({"residual_mlp": {"hidden": 2 * width, "dropout": 0.2}},
         "x + MLP(batchnorm(x)) (Gorishniy et al. 2021)"),
        ({"residual_mlp": {"hidden": 2 * width, "dropout": 0.2}}, ""),
        ("batchnorm", ""), ("relu", "")]
    if not numeric:
        return Starter(size, f"{rows:,} rows of categories: their embeddings → a residual "
                       f"MLP", training, trunk=trunk)
    return Starter(size, f"{rows:,} rows of numbers and categories: the standardised numbers "
                   f"and category embeddings → a residual MLP", training, trunk=trunk)
