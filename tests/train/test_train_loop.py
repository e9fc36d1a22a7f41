"""The loop on hand-made data: losses, optimizers, schedulers, early stopping, distillation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from train_helpers import FakePreprocessor, multitask_blueprint, multitask_data

from kiln.errors import DataError, RunError
from kiln.model import build_model
from kiln.train import Distillation, load_run, predict, train
from kiln.train.loop import EarlyStopping, Loop
from kiln.train.losses import TaskLoss, balanced_weights, soft_target_loss


def test_multitask_run_scores_every_head() -> None:
    bp = multitask_blueprint()
    bp.training.class_weights = "balanced"
    bp.training.label_smoothing = 0.1
    bp.training.grad_clip = 1.0
    run = train(bp, data=multitask_data(), quiet=True, tracking=False)
    metrics = run.metrics
    assert run.status == "finished"
    for key in ("kind.accuracy", "tags.f1_micro", "size.r2", "objective"):
        assert key in metrics["test"], key
    assert metrics["val"]["objective"] == metrics["val"]["kind.accuracy"]
    assert len(metrics["history"]) == 3
    losses = [h["train_loss"] for h in metrics["history"]]
    assert losses[-1] < losses[0]


def test_loss_is_the_weighted_sum_of_head_losses() -> None:
    bp = multitask_blueprint()
    data = multitask_data()
    loss = TaskLoss(data.signature, bp.training, data.train.targets)
    outputs = (torch.randn(4, 3), torch.randn(4, 2), torch.randn(4, 1))
    targets = [torch.tensor([0, 1, 2, 1]), torch.rand(4, 2).round(), torch.randn(4, 1)]
    expected = (torch.nn.functional.cross_entropy(outputs[0], targets[0])
                + 0.5 * torch.nn.functional.binary_cross_entropy_with_logits(outputs[1],
                                                                              targets[1])
                + 2.0 * torch.nn.functional.mse_loss(outputs[2], targets[2]))
    assert torch.allclose(loss(outputs, targets), expected)


def test_balanced_class_weights_are_inverse_frequency() -> None:
    weights = balanced_weights(np.array([0, 0, 0, 1]), 3)
    # 4 rows / (3 classes × count); an absent class counts as 1
    assert torch.allclose(weights, torch.tensor([4 / 9, 4 / 3, 4 / 3]))


def test_soft_target_loss_is_zero_for_identical_logits() -> None:
    logits = torch.randn(5, 4)
    assert float(soft_target_loss(logits, logits.clone(), 3.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(soft_target_loss(logits, -logits, 3.0)) > 0


@pytest.mark.parametrize(("optimizer", "scheduler"), [
    ("adam", "cosine"), ("adamw", "onecycle"), ("sgd", "step"), ("adamw", "plateau"),
    ("sgd", "none"),
])
def test_optimizers_and_schedules(optimizer: str, scheduler: str) -> None:
    bp = multitask_blueprint()
    bp.training.optimizer = optimizer
    bp.training.scheduler = scheduler
    bp.training.epochs = 4
    bp.training.step_size = 1
    run = train(bp, data=multitask_data(), quiet=True, tracking=False)
    lrs = [h["lr"] for h in run.metrics["history"]]
    assert all(math.isfinite(h["train_loss"]) for h in run.metrics["history"])
    if scheduler == "none":
        assert lrs == [bp.training.lr] * 4
    elif scheduler == "step":
        assert lrs == pytest.approx([bp.training.lr * bp.training.gamma ** i for i in range(4)])
    elif scheduler in ("cosine", "onecycle"):
        assert len(set(lrs)) == 4  # changes every epoch


def test_early_stopping_rule() -> None:
    stop = EarlyStopping(patience=2, min_delta=0.01, minimize=False)
    assert stop.update(0.5, 1)
    assert not stop.update(0.505, 2)  # below min_delta
    assert stop.update(0.6, 3)
    assert not stop.update(float("nan"), 4)
    assert not stop.stop
    assert not stop.update(0.59, 5)
    assert stop.stop and stop.best_epoch == 3
    low = EarlyStopping(patience=None, min_delta=0.0, minimize=True)
    assert low.update(2.0, 1) and low.update(1.0, 2) and not low.update(1.5, 3)
    assert not low.stop


def test_early_stopping_restores_the_best_epoch() -> None:
    bp = multitask_blueprint()
    bp.training.epochs = 12
    bp.training.lr = 0.3  # large steps make the validation objective move around
    bp.training.early_stopping.patience = 2
    run = train(bp, data=multitask_data(), quiet=True, tracking=False)
    history, info = run.metrics["history"], run.info
    best = info["best_epoch"]
    losses = [h["val"]["loss"] for h in history]  # the default criterion
    assert losses[best - 1] == min(losses)
    assert info["selected_by"] == "validation loss"
    restored = {k: v for k, v in run.metrics["val"].items() if k != "loss"}
    assert restored == {k: v for k, v in history[best - 1]["val"].items() if k != "loss"}
    if info["stopped_early"]:
        assert len(history) == best + 2


def test_objective_selection_breaks_ties_on_the_loss() -> None:
    stop = EarlyStopping(patience=3, min_delta=0.0, minimize=False, min_epochs=6)
    assert stop.update(0.9, 1, tie=0.5)
    assert stop.update(1.0, 2, tie=0.4)
    assert stop.update(1.0, 3, tie=0.3)  # same accuracy, lower loss: the better model
    assert not stop.update(1.0, 4, tie=0.35)
    assert not stop.update(0.95, 5, tie=0.2)
    assert not stop.update(0.95, 6, tie=0.2)
    assert stop.best_epoch == 3 and stop.stop  # patience used up, min_epochs reached
    early = EarlyStopping(patience=1, min_delta=0.0, minimize=True, min_epochs=4)
    assert early.update(1.0, 1) and not early.update(2.0, 2)
    assert not early.stop  # patience is spent, but 2 < min_epochs


def test_objective_criterion_picks_the_best_objective() -> None:
    bp = multitask_blueprint()
    bp.training.epochs = 8
    bp.training.lr = 0.3
    bp.training.select = "objective"
    run = train(bp, data=multitask_data(), quiet=True, tracking=False)
    objectives = [h["val"]["objective"] for h in run.metrics["history"]]
    assert objectives[run.info["best_epoch"] - 1] == max(objectives)
    assert run.info["selected_by"].startswith("validation ")


def test_distillation_trains_and_checks_sizes() -> None:
    bp = multitask_blueprint()
    data = multitask_data()
    teacher_run = train(bp, data=data, quiet=True, tracking=False)
    teacher = build_model(bp, data.signature)
    teacher.load_state_dict(torch.load(teacher_run.dir / "checkpoints" / "last.pt",
                                       weights_only=True)["best_weights"])
    student = bp.model_copy(deep=True)
    student.architecture.trunk = student.architecture.trunk[:1]
    run = train(student, data=data, quiet=True, tracking=False,
                distill=Distillation(teacher, alpha=0.7, temperature=2.0))
    assert run.status == "finished"

    other = multitask_blueprint()
    other.task.targets[0].num_classes = 4
    from kiln.model.signature import declared_signature

    wrong = build_model(other, declared_signature(other))
    with pytest.raises(RunError, match=r"teacher's outputs have sizes \[4, 2, 1\]"):
        train(bp, data=data, quiet=True, tracking=False, distill=Distillation(wrong))
    with pytest.raises(RunError, match="alpha"):
        Distillation(teacher, alpha=1.5)


def test_predict_batches_match_one_forward_pass() -> None:
    bp = multitask_blueprint()
    data = multitask_data()
    model = build_model(bp, data.signature).eval()
    x = data.test.inputs["tabular"]
    out = predict(model, {"tabular": x}, batch_size=7)
    with torch.no_grad():
        direct = model(torch.as_tensor(x))
    for name, tensor in zip(model.output_names, direct, strict=True):
        np.testing.assert_allclose(out[name], tensor.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(DataError, match="missing"):
        predict(model, {"other": x})


def test_epoch_callback_sees_val_metrics_and_may_stop_the_run() -> None:
    seen: list[tuple[int, float]] = []

    def callback(epoch: int, val: dict[str, float]) -> None:
        seen.append((epoch, val["objective"]))
        if epoch == 2:
            raise TrialPruned("pruned at 2")

    class TrialPruned(Exception):
        pass

    with pytest.raises(TrialPruned):
        train(multitask_blueprint(), data=multitask_data(), quiet=True, tracking=False,
              epoch_callback=callback)
    assert [e for e, _ in seen] == [1, 2]
    run = load_run("latest")
    assert run.status == "pruned" and run.info["epochs_run"] == 2

    def broken(epoch: int, val: dict[str, float]) -> None:
        raise ValueError("boom")

    with pytest.raises(ValueError):
        train(multitask_blueprint(), data=multitask_data(), quiet=True, tracking=False,
              epoch_callback=broken)
    assert load_run("latest").status == "failed"


def test_loop_drops_a_last_batch_of_one_row() -> None:
    bp = multitask_blueprint()
    bp.training.batch_size = 89  # 90 train rows → batches of 89 and 1
    loop = Loop(build_model(bp, multitask_data().signature), multitask_data(), bp)
    assert [len(b) for b in loop.batches()] == [89]
    assert isinstance(FakePreprocessor().to_dict(), dict)
