"""±inf in a numeric column: a data check with counts per column and `data.non_finite`."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from data_helpers import make_blueprint

from kiln.data import prepare_data
from kiln.data.checks import ChecksFailed
from kiln.data.infer import infer_report
from kiln.data.preprocessing import Preprocessor
from kiln.errors import DataError

NUMERIC = [{"name": "x", "type": "numeric"}, {"name": "y", "type": "numeric"}]


def table(tmp_path: Path, rows: int = 40) -> str:
    rng = np.random.default_rng(0)
    x = rng.normal(size=rows).round(6)
    x[3], x[10] = np.inf, -np.inf
    frame = pd.DataFrame({"x": x, "y": rng.normal(size=rows).round(6),
                          "label": ["a", "b"] * (rows // 2)})
    frame.to_csv(tmp_path / "t.csv", index=False)  # written as "inf" / "-inf"
    return "t.csv"


def test_infinite_values_stop_the_run_naming_column_and_rows(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy RuntimeWarning leaks out either
        with pytest.raises(ChecksFailed) as caught:
            prepare_data(make_blueprint(tmp_path, table(tmp_path), features=NUMERIC))
    message = str(caught.value)
    assert "'x': 2 non-finite value(s)" in message and "row 4, 11" in message
    assert "data.non_finite" in message
    [check] = [c for c in caught.value.checks if c.name == "non-finite"]
    assert check.level == "error"


@pytest.mark.parametrize("policy", ["impute", "clip"])
def test_impute_and_clip_give_finite_inputs(tmp_path: Path, policy: str) -> None:
    data = prepare_data(make_blueprint(tmp_path, table(tmp_path), features=NUMERIC,
                                       non_finite=policy))
    [check] = [c for c in data.checks if c.name == "non-finite"]
    assert check.level == "warning" and "2 non-finite" in check.message
    for split in (data.train, data.val, data.test):
        assert np.isfinite(split.inputs["tabular"]).all()
    state = data.preprocessor.to_dict()["features"][0]["state"]
    assert state["non_finite"] == policy and np.isfinite(state["center"])


def test_preprocessor_applies_the_policy_to_new_values() -> None:
    from kiln.blueprint.schema import FeatureSpec, TargetSpec

    features = [FeatureSpec(name="x", type="numeric")]
    targets = [TargetSpec(name="label")]
    train = {"x": [1.0, 2.0, 3.0, 4.0], "label": ["a", "b", "a", "b"]}
    new = {"x": [np.inf, -np.inf, 2.5]}
    strict = Preprocessor(features, targets).fit(train)
    with pytest.raises(DataError, match=r"column 'x', row 1, 2: infinite value"):
        strict.transform(new)
    clip = Preprocessor.from_dict(Preprocessor(features, targets, non_finite="clip")
                                  .fit(train).to_dict())
    clipped = clip.transform(new)["tabular"][:, 0]
    assert clipped[0] == clip.transform({"x": [4.0]})["tabular"][0, 0]
    assert clipped[1] == clip.transform({"x": [1.0]})["tabular"][0, 0]
    imputed = Preprocessor(features, targets, non_finite="impute").fit(train)
    assert np.isfinite(imputed.transform(new)["tabular"]).all()


def test_an_infinite_regression_target_is_always_an_error(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    value = rng.normal(size=30)
    value[5] = np.inf
    pd.DataFrame({"x": rng.normal(size=30), "value": value}).to_csv(tmp_path / "r.csv",
                                                                   index=False)
    bp = make_blueprint(tmp_path, "r.csv", target="value", task_type="regression",
                        features=[{"name": "x", "type": "numeric"}], non_finite="impute",
                        split={"method": "holdout"})
    with pytest.raises(ChecksFailed, match=r"target 'value': 1 non-finite value\(s\)"):
        prepare_data(bp)


def test_init_describes_the_finite_range_and_counts_infinities(tmp_path: Path) -> None:
    frame = pd.read_csv(tmp_path / table(tmp_path))
    [x] = [c for c in infer_report(frame, ["label"]) if c.column == "x"]
    assert x.type == "numeric"
    assert "-inf" not in x.reason and "2 infinite" in x.reason
