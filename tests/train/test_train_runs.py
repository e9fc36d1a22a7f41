"""Runs on disk: layout, load_run, reproducibility, failure handling, resume errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file
from train_helpers import load_tiny, tiny_blueprint, without_time

from kiln.blueprint import load_blueprint
from kiln.errors import DataError, RunError
from kiln.runs.run import list_runs, runs_root
from kiln.train import load_run, predict, train

ROOT = Path(__file__).resolve().parents[2]
RUN_FILES = {"blueprint.yaml", "weights.safetensors", "preprocessing.json", "signature.json",
             "metrics.json", "run.json", "checkpoints"}


def test_digits_cnn_end_to_end(kiln_home: Path) -> None:
    bp = load_blueprint(ROOT / "examples" / "digits_cnn.yaml")
    bp.training.epochs = 2
    run = train(bp, quiet=True, tracking=False)
    assert run.dir.parent == kiln_home / "runs"
    assert run.id.startswith("digits_cnn-")
    assert {p.name for p in run.dir.iterdir()} >= RUN_FILES
    assert {p.name for p in (run.dir / "checkpoints").iterdir()} == {"last.pt",
                                                                     "last.pt.sha256"}
    info = run.info
    for key in ("id", "name", "created", "status", "seed", "data_fingerprint", "versions",
                "hardware", "threads", "git_commit", "mlflow_run_id", "epochs_run",
                "best_epoch"):
        assert key in info, key
    assert info["status"] == "finished" and info["epochs_run"] == 2
    assert info["versions"]["torch"]
    assert run.metrics["test"]["accuracy"] > 0.5  # 2 epochs are enough to beat chance

    again = load_run(run.id[:-3])  # a unique prefix
    assert again.dir == run.dir and load_run("latest").dir == run.dir
    assert load_run(run.dir).id == run.id
    model = again.load_model()
    assert not model.training
    data = again.data()
    np.testing.assert_array_equal(data.test.index, run.data().test.index)
    out = predict(model, data.test.inputs)
    accuracy = float((out["label"].argmax(1) == data.test.targets["label"]).mean())
    assert accuracy == pytest.approx(run.metrics["test"]["accuracy"])
    weights = load_file(str(run.dir / "weights.safetensors"))
    assert set(weights) == set(model.state_dict())
    assert again.preprocessor.decode(out)["label"].shape == (len(data.test), 10)


def test_same_seed_same_metrics(tmp_path: Path) -> None:
    bp = load_tiny(tmp_path, epochs=3)
    first = train(bp, quiet=True, tracking=False)
    second = train(bp, quiet=True, tracking=False)
    assert first.id != second.id
    assert without_time(first.metrics) == without_time(second.metrics)
    assert first.info["data_fingerprint"] == second.info["data_fingerprint"]
    bp.seed = 4
    third = train(bp, quiet=True, tracking=False)
    assert without_time(third.metrics) != without_time(first.metrics)


def test_bad_input_leaves_no_run_dir(tmp_path: Path, kiln_home: Path) -> None:
    bp = load_tiny(tmp_path)
    bp.data.source = "missing.csv"
    with pytest.raises(DataError):
        train(bp, quiet=True)
    bp = load_tiny(tmp_path)
    bp.architecture.trunk[0].args["units"] = -3
    with pytest.raises(Exception, match="units"):
        train(bp, quiet=True)
    assert not (kiln_home / "runs").exists() or not list((kiln_home / "runs").iterdir())


def test_run_lookup_errors(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="no runs under"):
        load_run("latest")
    bp = load_tiny(tmp_path, epochs=1)
    a = train(bp, quiet=True, tracking=False)
    with pytest.raises(RunError, match="no run 'nope'"):
        load_run("nope")
    b = train(bp, quiet=True, tracking=False)
    with pytest.raises(RunError, match="ambiguous"):
        load_run("tiny-")
    assert [r.id for r in list_runs()] == sorted([a.id, b.id], reverse=True) or \
        {r.id for r in list_runs()} == {a.id, b.id}


def test_resume_errors(tmp_path: Path) -> None:
    with pytest.raises(RunError, match="no run"):
        train(resume="does-not-exist")
    bp = load_tiny(tmp_path, epochs=1)
    run = train(bp, quiet=True, tracking=False)
    with pytest.raises(RunError, match="already finished"):
        train(resume=run.id)
    info = json.loads((run.dir / "run.json").read_text())
    info["status"] = "running"  # as a killed process leaves it
    (run.dir / "run.json").write_text(json.dumps(info))
    checkpoint = run.dir / "checkpoints" / "last.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(RunError, match="checksum mismatch"):
        train(resume=run.id, quiet=True)
    checkpoint.unlink()
    with pytest.raises(RunError, match="no checkpoint"):
        train(resume=run.id, quiet=True)


def test_resume_in_process_matches_uninterrupted(tmp_path: Path) -> None:
    """A run that failed after epoch 2 resumes to the metrics of an unbroken run."""
    bp = load_tiny(tmp_path, epochs=4, scheduler="onecycle", optimizer="adam")
    full = train(bp, quiet=True, tracking=False)

    def stop(epoch: int, val: dict[str, float]) -> None:
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(bp, quiet=True, tracking=False, epoch_callback=stop)
    broken = load_run("latest")
    assert broken.status == "interrupted" and broken.id != full.id
    resumed = train(resume=broken.id, quiet=True, tracking=False)
    assert resumed.info["resumed"][0]["epoch"] == 2
    assert without_time(resumed.metrics) == without_time(full.metrics)
    assert load_file(str(resumed.dir / "weights.safetensors")).keys() == \
        load_file(str(full.dir / "weights.safetensors")).keys()


def test_relative_paths_resolve_against_the_original_blueprint(tmp_path: Path) -> None:
    path = tiny_blueprint(tmp_path, epochs=1)
    run = train(load_blueprint(path), quiet=True, tracking=False)
    assert run.blueprint.resolve("table.csv") == tmp_path / "table.csv"
    assert runs_root() == run.dir.parent


def test_breast_cancer_mlp_end_to_end(tmp_path: Path) -> None:
    """The tabular example: 3 epochs, tracked, reloaded, its objective (log_loss) recorded."""
    bp = load_blueprint(ROOT / "examples" / "breast_cancer_mlp.yaml")
    bp.training.epochs = 3
    run = train(bp, quiet=True)
    metrics = run.metrics
    assert metrics["val"]["objective"] == metrics["val"]["log_loss"]
    assert metrics["test"]["roc_auc"] > 0.8
    assert [h["epoch"] for h in metrics["history"]] == [1, 2, 3]
    assert run.info["mlflow_run_id"]
    model = run.load_model()
    data = run.data()
    proba = run.preprocessor.decode(predict(model, data.test.inputs))["label"]
    assert proba.shape == (len(data.test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("example", ["custom_block", "diabetes_regression", "multimodal_fusion",
                                     "whole_model", "digits_student"])
def test_every_example_trains_and_reloads(example: str) -> None:
    """Plugins, a whole-model class, regression and two inputs: one epoch each, reloaded."""
    bp = load_blueprint(ROOT / "examples" / f"{example}.yaml")
    bp.training.epochs = 1
    run = train(bp, quiet=True, tracking=False)
    assert run.status == "finished" and set(run.metrics["test"]) >= set(bp.task.metrics)
    data = run.data()
    raw = predict(run.load_model(), data.test.inputs)
    assert set(raw) == {t.name for t in bp.task.targets}
    if bp.task.targets[0].type == "regression":
        decoded = run.preprocessor.decode(raw)[bp.task.targets[0].name]
        assert np.isfinite(decoded).all()


def test_image_augmentation_is_seeded(tmp_path: Path) -> None:
    """augment: true shifts/flips each training batch; the same seed gives the same run."""
    bp = load_blueprint(ROOT / "examples" / "digits_student.yaml")
    assert bp.data.features is not None
    bp.data.features[0].augment = True
    bp.training.epochs = 2
    first = train(bp, quiet=True, tracking=False)
    second = train(bp, quiet=True, tracking=False)
    assert without_time(first.metrics) == without_time(second.metrics)
    bp.data.features[0].augment = False
    plain = train(bp, quiet=True, tracking=False)
    assert plain.metrics["history"][0]["train_loss"] != first.metrics["history"][0]["train_loss"]
