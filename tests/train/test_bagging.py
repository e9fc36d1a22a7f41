"""Bagging (`training.bagging: k`): k members on k folds of the training + validation rows,
averaged; out-of-fold validation figures; one model for export, the bundle and serving."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from train_helpers import load_tiny

from kiln.data.prepared import Split
from kiln.errors import RunError
from kiln.model import build_model
from kiln.model.network import Bagged
from kiln.runs.run import load_resumable, update_info
from kiln.train import train
from kiln.train.bagging import fold_rows, input_groups
from kiln.train.inference import predict, score_raw

pytestmark = [pytest.mark.filterwarnings("ignore::torch.jit.TracerWarning"),
              pytest.mark.filterwarnings("ignore:.*legacy TorchScript-based ONNX export"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning:torch.*")]


def test_a_bagged_model_averages_members_built_from_successive_seeds(tmp_path: Path) -> None:
    from kiln.data import prepare_data

    bp = load_tiny(tmp_path, bagging=3)
    signature = prepare_data(bp).signature
    model = build_model(bp, signature)
    assert isinstance(model, Bagged) and len(model.members) == 3
    assert model.input_names == ["tabular"] and model.output_names == ["label"]
    bp.training.bagging = 1
    for i, member in enumerate(model.members):  # member i: the plain model under seed + i
        alone = build_model(bp, signature, seed=bp.seed + i)
        assert all(torch.equal(a, b) for a, b in zip(member.state_dict().values(),
                                                       alone.state_dict().values(),
                                                       strict=True))
    x = torch.randn(5, 4)
    model.eval()
    with torch.no_grad():
        (mean,) = model(x)
        expected = torch.stack([m(x)[0] for m in model.members]).mean(dim=0)
    assert torch.allclose(mean, expected)


def pool(rows: int, labels: np.ndarray | None = None) -> Split:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 2)).astype(np.float32)
    y = labels if labels is not None else rng.integers(0, 2, rows)
    return Split({"x": x}, {"label": y}, np.arange(rows))


def folds_of(split: Split, k: int, tmp_path: Path, duplicates: str = "group") -> list:
    bp = load_tiny(tmp_path, bagging=k)
    bp.data.duplicates = duplicates  # type: ignore[assignment]

    class Data:  # what fold_rows reads of PreparedData
        signature = type("S", (), {"outputs": [type("O", (), {"name": "label",
                                                              "type": "classification"})]})
    return fold_rows(split, Data(), k, bp)  # type: ignore[arg-type]


def test_folds_hold_out_every_row_once_stratified_and_keep_copies_together(
        tmp_path: Path) -> None:
    labels = np.array([0] * 80 + [1] * 20)
    split = pool(100, labels)
    split.inputs["x"][50:60] = split.inputs["x"][40]  # 11 identical rows
    folds = folds_of(split, 5, tmp_path)
    held = np.concatenate(folds)
    assert sorted(held.tolist()) == list(range(100))  # each row validates exactly one member
    copies = set(range(50, 60)) | {40}
    assert sum(bool(copies & set(f.tolist())) for f in folds) == 1  # one fold holds them all
    minority = [int((labels[f] == 1).sum()) for f in folds]
    assert max(minority) - min(minority) <= 3  # stratified: 20 positives spread over 5 folds
    ungrouped = folds_of(split, 5, tmp_path, duplicates="keep")
    assert sum(bool(copies & set(f.tolist())) for f in ungrouped) > 1


def test_input_groups_match_identical_rows_only() -> None:
    split = Split({"x": np.array([[1.0, 2.0], [1.0, 2.0], [2.0, 1.0]], dtype=np.float32),
                   "c": np.array([3, 3, 3])}, {}, np.arange(3))
    groups = input_groups(split)
    assert groups[0] == groups[1] != groups[2]


def test_too_few_rows_for_the_folds_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RunError, match=r"training.bagging: 5 members need at least 5 "
                                       r"distinct.*has 4.*lower training.bagging"):
        folds_of(pool(4), 5, tmp_path)


@pytest.mark.slow
def test_bagged_run_scores_out_of_fold_exports_and_predicts_as_one_model(
        tmp_path: Path) -> None:
    from kiln.bundle import load
    from kiln.export import export

    bp = load_tiny(tmp_path, bagging=3, epochs=6)
    reported: list[int] = []  # tuning's pruner sees the first member's epochs
    run = train(bp, quiet=True, tracking=False,
                epoch_callback=lambda epoch, val: reported.append(epoch))
    members = run.metrics["members"]
    assert reported == list(range(1, members[0]["epochs_run"] + 1))
    data = run.data()
    rows = len(data.train) + len(data.val)
    assert [m["member"] for m in members] == [1, 2, 3]
    assert sum(m["val_rows"] for m in members) == rows  # every row held out once
    assert all(m["train_rows"] + m["val_rows"] == rows for m in members)
    assert run.info["selected_by"] == "validation loss, each of 3 members on its own fold"
    model = run.load_model()
    assert isinstance(model, Bagged)
    # The validation figures are out-of-fold, not the averaged model on rows it trained on.
    in_sample = score_raw(predict(model, data.val.inputs), data.val.targets,
                          data.preprocessor, data.signature, bp.task)
    assert run.metrics["val"] != in_sample
    test = score_raw(predict(model, data.test.inputs), data.test.targets, data.preprocessor,
                     data.signature, bp.task)
    assert run.metrics["test"] == pytest.approx(test)
    again = train(bp, quiet=True, tracking=False)  # same seed → the same metrics
    assert again.metrics["val"] == run.metrics["val"]
    assert again.metrics["test"] == run.metrics["test"]
    from kiln.report import report

    page = report(run).read_text(encoding="utf-8")  # evaluation, curves, design table
    assert "The first of 3 bagged members" in page and "(× 3 bagged members)" in page
    # export checks ONNX parity against the PyTorch model (all members) itself
    bundle = load(export(run, output=tmp_path / "bundle"))
    columns = {c: data.table[c].to_numpy()[data.test.index] for c in "abcd"}
    probabilities = bundle.predict_columns(columns)["label"]
    expected = torch.softmax(torch.as_tensor(predict(model, data.test.inputs)["label"]), -1)
    np.testing.assert_allclose(probabilities, expected.numpy(), atol=1e-5)


@pytest.mark.slow
def test_bagged_runs_are_not_resumed_or_distributed_and_need_the_table_in_memory(
        tmp_path: Path) -> None:
    bp = load_tiny(tmp_path, bagging=2, epochs=2)
    run = train(bp, quiet=True, tracking=False)
    update_info(run, status="interrupted")
    with pytest.raises(RunError, match=r"is bagged.*cannot be resumed"):
        load_resumable(run.dir)
    with pytest.raises(RunError, match=r"--nproc: training\.bagging is 2") as refused:
        train(bp, nproc=2, quiet=True, tracking=False)
    assert refused.value.where == "training.bagging"
    streamed = load_tiny(tmp_path, bagging=2)
    streamed.data.streaming = True  # type: ignore[assignment]
    with pytest.raises(RunError, match=r"bagging splits the training rows .* in memory"):
        train(streamed, quiet=True, tracking=False)


@pytest.mark.slow
def test_cross_validation_of_a_bagged_model(tmp_path: Path) -> None:
    run = train(load_tiny(tmp_path, bagging=2, epochs=2), cv=2, quiet=True, tracking=False)
    summary = run.metrics["cv"]
    assert summary["k"] == 2 and "test.accuracy" in summary["mean"]
    assert all(fold["val"] for fold in summary["folds"])
