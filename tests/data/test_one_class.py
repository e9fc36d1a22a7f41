"""A target with a single class is named as such — not "the number of classes is unknown"."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from data_helpers import make_blueprint

from kiln.blueprint.schema import TaskSpec
from kiln.data import prepare_data
from kiln.errors import DataError
from kiln.model.signature import outputs_from_task
from kiln.scaffold import scaffold


def one_class_table(tmp_path: Path) -> str:
    rng = np.random.default_rng(0)
    pd.DataFrame({"x": rng.normal(size=30), "y": rng.normal(size=30),
                  "label": ["benign"] * 30}).to_csv(tmp_path / "one.csv", index=False)
    return "one.csv"


@pytest.mark.parametrize("declared", [{}, {"num_classes": 2}])
def test_training_data_with_one_class(tmp_path: Path, declared: dict[str, int]) -> None:
    bp = make_blueprint(tmp_path, one_class_table(tmp_path))
    if declared:
        bp = bp.model_copy(update={"task": TaskSpec(target="label", **declared)})
    with pytest.raises(DataError, match=r"target 'label' has one class \('benign'\) — a "
                                        r"classifier needs at least two") as caught:
        prepare_data(bp)
    assert "unknown before reading data" not in str(caught.value)


def test_init_names_the_single_class(tmp_path: Path) -> None:
    source = tmp_path / one_class_table(tmp_path)
    with pytest.raises(DataError, match=r"target 'label' has one class \('benign'\)"):
        scaffold(source, "label")


def test_declared_single_label() -> None:
    with pytest.raises(DataError, match=r"target 'y' has one class \('only'\)"):
        outputs_from_task(TaskSpec(target="y", labels=["only"]))
