"""`prepare_data` end to end: arrays, signature, fingerprint, folds, overrides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from data_helpers import MIXED_FEATURES, make_blueprint, mixed_table

from kiln.blueprint import load_blueprint
from kiln.data import PreparedData, prepare_data

ROOT = Path(__file__).resolve().parents[2]


def all_rows(data: PreparedData) -> list[int]:
    return sorted(np.concatenate([data.train.index, data.val.index, data.test.index]).tolist())


def test_digits_example_matches_the_model() -> None:
    import torch

    from kiln.model import build_model

    bp = load_blueprint(ROOT / "examples" / "digits_cnn.yaml")
    data = prepare_data(bp)
    assert all_rows(data) == list(range(1797))
    assert data.train.inputs["image"].shape == (len(data.train), 1, 8, 8)
    assert data.train.targets["label"].dtype == np.int64
    assert data.signature.outputs[0].labels == tuple(str(d) for d in range(10))
    model = build_model(bp, data.signature)
    with torch.no_grad():
        (logits,) = model(torch.from_numpy(data.val.inputs["image"][:4]))
    assert logits.shape == (4, 10)


def test_same_seed_same_data_and_fingerprint(tmp_path: Path) -> None:
    first = prepare_data(make_blueprint(tmp_path, "sklearn:iris"))
    again = prepare_data(make_blueprint(tmp_path, "sklearn:iris"))
    other = prepare_data(make_blueprint(tmp_path, "sklearn:iris", seed=1))
    assert first.fingerprint == again.fingerprint != other.fingerprint
    assert len(first.fingerprint) == 64
    assert np.array_equal(first.test.index, again.test.index)
    assert np.array_equal(first.train.inputs["tabular"], again.train.inputs["tabular"])


def test_fingerprint_is_the_same_in_another_process(tmp_path: Path) -> None:
    import subprocess
    import sys

    bp = make_blueprint(tmp_path, "sklearn:wine")
    code = ("from kiln.blueprint import load_blueprint; from kiln.data import prepare_data; "
            f"print(prepare_data(load_blueprint({str(bp.path)!r})).fingerprint)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout.strip()
    assert out == prepare_data(bp).fingerprint


def test_fingerprint_follows_the_table_contents(tmp_path: Path) -> None:
    table = pd.DataFrame(mixed_table())
    table.to_csv(tmp_path / "a.csv", index=False)
    table.assign(age=table["age"] + 1).to_csv(tmp_path / "b.csv", index=False)
    a = prepare_data(make_blueprint(tmp_path, "a.csv", features=MIXED_FEATURES))
    b = prepare_data(make_blueprint(tmp_path, "b.csv", features=MIXED_FEATURES))
    assert a.fingerprint != b.fingerprint


def test_mixed_csv_signature_uses_fitted_vocabularies(tmp_path: Path) -> None:
    pd.DataFrame(mixed_table()).to_csv(tmp_path / "t.csv", index=False)
    data = prepare_data(make_blueprint(tmp_path, "t.csv", features=MIXED_FEATURES))
    inputs = {i.name: i for i in data.signature.inputs}
    assert list(inputs) == ["tabular", "city", "notes"]
    assert inputs["tabular"].features == ("age", "member")
    assert inputs["city"].vocab_size == 4  # 3 cities + the unknown bucket
    assert inputs["notes"].vocab_size == 6 and inputs["notes"].shape == (5,)
    assert data.train.inputs["tabular"].shape == (len(data.train), 2)
    assert data.train.inputs["notes"].dtype == np.int64
    assert data.val.inputs["city"].max() < 4


def test_inferred_features(tmp_path: Path) -> None:
    pd.DataFrame(mixed_table()).to_csv(tmp_path / "t.csv", index=False)
    data = prepare_data(make_blueprint(tmp_path, "t.csv"))
    types = {f.name: f.type for f in data.features}
    assert types["age"] == "numeric" and types["city"] == "categorical"
    assert "label" not in types


def test_regression_targets_are_standardised(tmp_path: Path) -> None:
    data = prepare_data(make_blueprint(tmp_path, "sklearn:diabetes", target="progression",
                                       task_type="regression"))
    y = data.train.targets["progression"]
    assert y.shape == (len(data.train), 1) and y.dtype == np.float32
    assert abs(float(y.mean())) < 1e-5 and abs(float(y.std()) - 1) < 1e-4
    back = data.preprocessor.decode({"progression": y})["progression"]
    original = data.table["progression"].to_numpy()[data.train.index]
    assert np.allclose(back[:, 0], original, rtol=1e-5)


def test_folds_and_source_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bp = make_blueprint(tmp_path, "sklearn:wine", split={"method": "kfold", "folds": 3})
    folds = [prepare_data(bp, fold=k) for k in range(3)]
    tests = np.concatenate([f.test.index for f in folds])
    assert sorted(tests.tolist()) == list(range(178))
    assert len({f.fingerprint for f in folds}) == 3

    pd.DataFrame(mixed_table(rows=30, seed=3)).to_csv(tmp_path / "other.csv", index=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "blueprints").mkdir()
    bp = make_blueprint(tmp_path / "blueprints", "missing.csv", features=MIXED_FEATURES)
    data = prepare_data(bp, source="other.csv")  # relative to the working directory
    assert len(data.table) == 30


def test_time_and_group_splits_from_a_table(tmp_path: Path) -> None:
    table = pd.DataFrame(mixed_table(rows=40))
    days = pd.date_range("2024-01-01", periods=40).strftime("%Y-%m-%d").tolist()
    table["day"] = days[::-1]  # row 0 is the latest day
    table["user"] = np.repeat(np.arange(10), 4)
    table.to_csv(tmp_path / "t.csv", index=False)
    by_time = prepare_data(make_blueprint(tmp_path, "t.csv", features=MIXED_FEATURES,
                                          split={"method": "time", "column": "day"}))
    assert sorted(by_time.test.index.tolist()) == list(range(8))
    assert sorted(by_time.val.index.tolist()) == list(range(8, 12))
    by_user = prepare_data(make_blueprint(tmp_path, "t.csv", features=MIXED_FEATURES,
                                          split={"method": "group", "column": "user"}))
    users = table["user"].to_numpy()
    assert not set(users[by_user.train.index]) & set(users[by_user.test.index])


def test_multilabel_targets(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=40)
    pd.DataFrame({"x": x, "hot": (x > 0).astype(int), "big": (np.abs(x) > 1).astype(int)}
                 ).to_csv(tmp_path / "t.csv", index=False)
    bp = make_blueprint(tmp_path, "t.csv", target=["hot", "big"], task_type="multilabel",
                        features=[{"name": "x", "type": "numeric"}])
    data = prepare_data(bp)
    assert data.signature.outputs[0].labels == ("hot", "big")
    y = data.train.targets["labels"]
    assert y.shape == (len(data.train), 2) and y.dtype == np.float32


def test_digits_with_inferred_features(tmp_path: Path) -> None:
    data = prepare_data(make_blueprint(tmp_path, "sklearn:digits"))
    assert [(i.name, i.shape) for i in data.signature.inputs] == [("image", (1, 8, 8))]
