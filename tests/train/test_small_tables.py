"""Model selection on a tiny validation split: a 180-row table whose 18 validation rows
saturate at accuracy 1.0 within a few epochs. Selecting on the validation loss (the
default) must still reach the logistic-regression baseline on the same split."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from kiln.scaffold import scaffold


def wine_like(rows: int = 180, seed: int = 0, spread: float = 2.0) -> pd.DataFrame:
    """13 correlated numeric columns (a few missing), a categorical one, 3 classes that a
    linear model separates well but not perfectly."""
    rng = np.random.default_rng(seed)
    label = rng.integers(0, 3, rows)
    centres = rng.normal(0, spread, (3, 13))
    mixing = rng.normal(0, 0.4, (13, 13))
    x = centres[label] + rng.normal(0, 1.0, (rows, 13)) @ (np.eye(13) + mixing)
    frame = pd.DataFrame(x.round(4), columns=[f"m{i}" for i in range(13)])
    frame["cellar"] = rng.choice(["north", "south", "east"], rows)
    frame.loc[rng.random(rows) < 0.03, "m3"] = np.nan
    frame["cultivar"] = np.array(["a", "b", "c"])[label]
    return frame


def logistic_accuracy(data: object) -> float:
    from sklearn.linear_model import LogisticRegression

    def flat(split: object) -> np.ndarray:
        inputs = split.inputs  # type: ignore[attr-defined]
        parts = [np.eye(int(v.max()) + 2)[v] if v.dtype.kind == "i" else v.reshape(len(v), -1)
                 for v in (inputs[n] for n in data.signature.input_names)]  # type: ignore[attr-defined]
        return np.concatenate(parts, axis=1)

    train, val, test = data.train, data.val, data.test  # type: ignore[attr-defined]
    x = np.concatenate([flat(train), flat(val)])
    y = np.concatenate([train.targets["cultivar"], val.targets["cultivar"]])
    model = LogisticRegression(max_iter=5000).fit(x, y)
    return float((model.predict(flat(test)) == test.targets["cultivar"]).mean())


@pytest.mark.slow
def test_tiny_validation_split_reaches_the_logistic_baseline(tmp_path: Path) -> None:
    from kiln.blueprint import load_blueprint
    from kiln.train import train

    wine_like().to_csv(tmp_path / "wine.csv", index=False)
    scaffold(tmp_path / "wine.csv", "cultivar", tmp_path / "bp.yaml")
    bp = load_blueprint(tmp_path / "bp.yaml")
    bp.training.threads = 1
    run = train(bp, quiet=True, tracking=False)
    history = run.metrics["history"]
    saturated = [h["epoch"] for h in history if h["val"]["accuracy"] == 1.0]
    assert saturated and saturated[0] < run.info["best_epoch"]  # accuracy could not choose
    assert run.info["selected_by"] == "validation loss"
    baseline = logistic_accuracy(run.data())
    assert run.metrics["test"]["accuracy"] >= baseline
