"""Property-based tests of the data path and the bundle (Hypothesis).

Random small tables — NaN, ±inf, empty strings, huge and tiny magnitudes, constant and
all-missing columns, one-class and many-class targets, unicode column names — go through
the stages a user runs. The invariant: every stage either finishes with finite numbers
(model inputs, metrics, answers) or raises a `KilnError` whose message says where; never
another exception, never a NaN in an answer.

The number of examples is bounded for CI; set KILN_HYPOTHESIS_EXAMPLES (data path) and
KILN_HYPOTHESIS_PIPELINE_EXAMPLES (train → evaluate → export → predict) for more.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, Phase, event, given, settings
from hypothesis import strategies as st

from kiln.errors import BundleError, KilnError

DATA_EXAMPLES = int(os.environ.get("KILN_HYPOTHESIS_EXAMPLES", "40"))
PIPELINE_EXAMPLES = int(os.environ.get("KILN_HYPOTHESIS_PIPELINE_EXAMPLES", "4"))
# Shrinking a failure of a whole pipeline can take many minutes; KILN_HYPOTHESIS_SHRINK=1
# turns it on when hunting one down.
PHASES = [p for p in Phase if p != Phase.shrink or os.environ.get("KILN_HYPOTHESIS_SHRINK")]
SPECIAL = [math.nan, math.inf, -math.inf, 1e300, -1e300, 1e-300, 0.0]
NAME = st.text(st.characters(categories=["L", "N"], max_codepoint=0x9FFF), min_size=1,
               max_size=6).map(lambda s: s + " é")  # unicode, with a space, never "target"


@st.composite
def numeric_column(draw: st.DrawFn, rows: int) -> list[float]:
    kind = draw(st.sampled_from(["normal", "specials", "constant", "missing", "huge", "tiny"]))
    if kind == "constant":
        return [3.5] * rows
    if kind == "missing":
        return [math.nan] * rows
    scale = {"huge": 1e200, "tiny": 1e-200}.get(kind, 1.0)
    values = draw(st.lists(st.floats(-100, 100), min_size=rows, max_size=rows))
    values = [v * scale for v in values]
    if kind == "specials":
        for row in draw(st.lists(st.integers(0, rows - 1), max_size=3)):
            values[row] = draw(st.sampled_from(SPECIAL))
    return values


@st.composite
def text_column(draw: st.DrawFn, rows: int) -> list[Any]:
    levels = draw(st.lists(st.sampled_from(["a", "b", "", "ç", "日本", "x y"]), min_size=1,
                           max_size=4, unique=True))
    return draw(st.lists(st.sampled_from([*levels, None]), min_size=rows, max_size=rows))


@st.composite
def tables(draw: st.DrawFn) -> tuple[pd.DataFrame, str, str]:
    """(frame with a `target` column, task type, data.non_finite policy)."""
    rows = draw(st.integers(10, 40))
    names = draw(st.lists(NAME, min_size=1, max_size=4, unique=True))
    columns: dict[str, Any] = {}
    for name in names:
        columns[name] = draw(numeric_column(rows) if draw(st.booleans()) else text_column(rows))
    task = draw(st.sampled_from(["classification", "regression"]))
    if task == "classification":
        classes = draw(st.integers(1, 6))
        target: list[Any] = [f"c{draw(st.integers(0, classes - 1))}" for _ in range(rows)]
    else:
        target = draw(numeric_column(rows))
    columns["target"] = target
    return pd.DataFrame(columns), task, draw(st.sampled_from(["error", "impute", "clip"]))


def blueprint_file(folder: Path, frame: pd.DataFrame, task: str, policy: str) -> Path:
    frame.to_csv(folder / "t.csv", index=False)
    raw = {"name": "prop", "seed": 0, "task": {"type": task, "target": "target"},
           "data": {"source": "t.csv", "non_finite": policy,
                    "split": {"method": "holdout", "test": 0.2, "val": 0.2}},
           "architecture": {"trunk": [{"linear": {"units": 4}}, "relu"]},
           "training": {"epochs": 2, "batch_size": 8, "threads": 1}}
    path = folder / "bp.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def says_where(error: KilnError, frame: pd.DataFrame) -> bool:
    """The error names a column, a row, the target, a record, a key or the file."""
    message = str(error)
    places = [*map(str, frame.columns), "row", "t.csv", "data.", "task.", "target",
              "training", "epoch", "split"]
    return bool(error.where) or any(place in message for place in places)


def finite_arrays(arrays: dict[str, np.ndarray]) -> bool:
    return all(np.isfinite(a).all() for a in arrays.values() if a.dtype.kind == "f")


@settings(max_examples=DATA_EXAMPLES, deadline=None, database=None, derandomize=True,
          phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(tables())
def test_the_data_path_gives_finite_inputs_or_says_where(
        table: tuple[pd.DataFrame, str, str]) -> None:
    from kiln import load_blueprint
    from kiln.data import prepare_data

    frame, task, policy = table
    with tempfile.TemporaryDirectory() as tmp:
        try:
            data = prepare_data(load_blueprint(blueprint_file(Path(tmp), frame, task, policy)))
        except KilnError as error:
            event(f"refused: {type(error).__name__}")
            assert says_where(error, frame), str(error)
            return
    event("prepared")
    for split in (data.train, data.val, data.test):
        assert finite_arrays(split.inputs) and finite_arrays(split.targets)


def hostile_records(frame: pd.DataFrame, draw: st.DrawFn) -> list[dict[str, Any]]:
    """Records from the table's rows, with values a client might send instead."""
    records = []
    for _, row in frame.drop(columns="target").head(6).iterrows():
        record = {str(k): (None if isinstance(v, float) and math.isnan(v) else v)
                  for k, v in row.items()}
        for key in draw(st.lists(st.sampled_from(list(record)), max_size=2)):
            record[key] = draw(st.sampled_from([*SPECIAL, None, "", "14.2", "abc", 7, True]))
        records.append(record)
    return records


@pytest.mark.slow
@settings(max_examples=PIPELINE_EXAMPLES, deadline=None, database=None, derandomize=True,
          phases=PHASES,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(tables(), st.data())
def test_train_evaluate_export_predict_finish_finite_or_say_where(
        table: tuple[pd.DataFrame, str, str], data: st.DataObject) -> None:
    from kiln import load_blueprint
    from kiln.bundle import load
    from kiln.evaluate.stage import evaluate
    from kiln.export import export
    from kiln.train import train

    frame, task, policy = table
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["KILN_HOME"] = str(folder / "home")  # this example's own runs
        try:
            run = train(load_blueprint(blueprint_file(folder, frame, task, policy)),
                        quiet=True, tracking=False)
            scores = {**run.metrics["val"], **run.metrics["test"]}
            assert math.isfinite(scores["objective"]), scores
            ev = evaluate(run, resamples=100, baselines=False, track=False)
            # NaN is how an undefined metric is reported (R² of one row); never ±inf
            assert not any(math.isinf(e.value) for e in ev.metrics.values()), ev.metrics
            bundle = load(export(run, output=folder / "bundle"))
        except KilnError as error:
            event(f"refused: {type(error).__name__}")
            assert says_where(error, frame), str(error)
            return
        event("exported")
        for record in hostile_records(frame, data.draw):
            try:
                answers = bundle.predict([record])
            except BundleError as error:
                assert error.where is not None and error.where.startswith("records[0]"), \
                    str(error)
                continue
            text = json.dumps(answers)
            assert "NaN" not in text and "Infinity" not in text, (record, text)
