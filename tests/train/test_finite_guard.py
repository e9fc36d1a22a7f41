"""Training stops at the first non-finite loss or gradient; the run is marked failed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from train_helpers import load_tiny

from kiln.errors import TrainingError
from kiln.runs import load_run
from kiln.train import train
from kiln.train.finite_guard import EpochWatch, check_finite_step


def test_a_nan_loss_at_the_first_batch_blames_the_data() -> None:
    weight = torch.nn.Parameter(torch.ones(2))
    with pytest.raises(TrainingError, match=r"epoch 1, batch 1: the training loss is nan"
                                            r".*inputs or targets") as caught:
        check_finite_step(torch.tensor(float("nan")), [weight], epoch=1, batch=1, lr=0.1)
    assert caught.value.where == "epoch 1, batch 1"


def test_an_infinite_gradient_later_blames_the_learning_rate() -> None:
    weight = torch.nn.Parameter(torch.ones(2))
    weight.grad = torch.tensor([1.0, float("inf")])
    with pytest.raises(TrainingError, match=r"epoch 3, batch 7: a gradient is not finite"
                                            r".*learning rate \(0\.5\)"):
        check_finite_step(torch.tensor(0.3), [weight], epoch=3, batch=7, lr=0.5)
    check_finite_step(torch.tensor(0.3), [weight], epoch=3, batch=7, lr=0.5, gradients=False)


def test_the_watch_stops_at_the_first_bad_loss_on_the_cpu() -> None:
    weight = torch.nn.Parameter(torch.ones(2))
    watch = EpochWatch(torch.device("cpu"), epoch=2)
    watch.batch(torch.tensor(0.5), lr=0.1)
    with pytest.raises(TrainingError, match=r"epoch 2, batch 2: the training loss is inf"):
        watch.batch(torch.tensor(float("inf")), lr=0.1)
    watch.end([weight])  # weights finite: nothing to say


def test_on_a_gpu_the_watch_reads_losses_back_once_and_names_the_first_bad_batch() -> None:
    watch = EpochWatch(torch.device("cuda"), epoch=4)  # deferred; CPU tensors do here
    for value in (0.5, 0.4, float("nan"), float("inf")):
        watch.batch(torch.tensor(value), lr=0.2)
    with pytest.raises(TrainingError, match=r"epoch 4, batch 3: the training loss is nan"
                                            r".*learning rate \(0\.2\)"):
        watch.end([torch.nn.Parameter(torch.ones(2))])


def test_a_bad_gradient_in_the_last_step_is_caught_by_the_weights() -> None:
    weight = torch.nn.Parameter(torch.tensor([1.0, float("nan")]))
    watch = EpochWatch(torch.device("cpu"), epoch=1)
    watch.batch(torch.tensor(0.5), lr=0.1)
    watch.batch(torch.tensor(0.5), lr=0.1)
    with pytest.raises(TrainingError, match=r"epoch 1, batch 2: a weight is not finite") as e:
        watch.end([weight])
    assert e.value.where == "epoch 1, batch 2"


def test_a_diverging_run_fails_instead_of_finishing(tmp_path: Path) -> None:
    blueprint = load_tiny(tmp_path, lr=1e30)
    with pytest.raises(TrainingError, match=r"epoch 1, batch \d+: the training loss is"):
        train(blueprint, quiet=True, tracking=False)
    run = load_run("latest")
    assert run.status == "failed"
    assert "TrainingError" in str(run.info.get("error"))


def test_evaluate_refuses_a_table_with_infinite_values(
        tmp_path: Path, kiln_cli: Callable[..., tuple[int, str, str]]) -> None:
    blueprint = load_tiny(tmp_path, epochs=1)
    run = train(blueprint, quiet=True, tracking=False)
    frame = pd.read_csv(tmp_path / "table.csv")
    frame.loc[4, "a"] = np.inf
    frame.to_csv(tmp_path / "bad.csv", index=False)
    code, out, err = kiln_cli("evaluate", run.id, "--data", str(tmp_path / "bad.csv"))
    assert code != 0
    assert "column 'a', row 5: infinite value" in out + err
    assert "Traceback" not in out + err
