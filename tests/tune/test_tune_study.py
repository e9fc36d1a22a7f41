"""The tune stage with a stand-in trainer (fast, deterministic): seeds, budgets, pruning,
several objectives, resuming, outputs. Real training is exercised in test_tune_workers.py."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import optuna
import pytest

from kiln.blueprint import Blueprint, load_blueprint
from kiln.blueprint.search_spec import SearchSettings
from kiln.tune import TuneOptions, tune
from kiln.tune.trial import EpochCallback, TrainOutcome


class FakeTrainer:
    """Scores a blueprint by a smooth function of lr and width; reports 3 epochs."""

    def __init__(self) -> None:
        self.trained: list[float] = []

    def __call__(self, blueprint: Blueprint, *, epoch_callback: EpochCallback | None,
                 parent_run_id: str | None, run_name: str) -> TrainOutcome:
        lr = blueprint.training.lr
        units = blueprint.architecture.trunk[0].args["units"]
        score = 0.9 - 0.05 * abs(math.log10(lr) + 2) + units / 2000
        for epoch in range(1, 4):
            if epoch_callback is not None:
                epoch_callback(epoch, {"accuracy": score * epoch / 3, "objective": score})
        self.trained.append(lr)
        return TrainOutcome({"accuracy": score, "f1_macro": score - 0.01}, run_id=None)


def sampled(study_name: str, home: Path, monkeypatch: pytest.MonkeyPatch,
            blueprint: dict[str, Any], sampler: str) -> list[dict[str, Any]]:
    monkeypatch.setenv("KILN_HOME", str(home))
    tune(blueprint, TuneOptions(trials=8, sampler=sampler, study=study_name, tracking=False,
                                quiet=True, seed=7), trainer=FakeTrainer())
    study = optuna.load_study(study_name=study_name, storage=f"sqlite:///{home}/optuna.db")
    return [t.params for t in study.trials]


@pytest.mark.parametrize("sampler", ["tpe", "random", "cmaes", "grid"])
def test_same_seed_single_worker_same_sequence(sampler: str, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch,
                                               tiny_search: Any) -> None:
    raw = tiny_search()
    if sampler == "grid":
        raw["training"]["lr"] = {"tune": "choice", "name": "lr", "values": [0.001, 0.01]}
    first = sampled("s", tmp_path / "a", monkeypatch, raw, sampler)
    second = sampled("s", tmp_path / "b", monkeypatch, raw, sampler)
    assert len(first) == 8
    assert first == second
    if sampler == "tpe":
        third = sampled("t", tmp_path / "c", monkeypatch, raw, sampler)
        assert third == first  # the study name does not change the sequence
        monkeypatch.setenv("KILN_HOME", str(tmp_path / "d"))
        tune(raw, TuneOptions(trials=8, sampler=sampler, tracking=False, quiet=True, seed=8),
             trainer=FakeTrainer())
        other = optuna.load_study(study_name="tiny_search",
                                  storage=f"sqlite:///{tmp_path}/d/optuna.db")
        assert [t.params for t in other.trials] != first


def test_over_budget_trials_are_rejected_before_training(tiny_search: Any) -> None:
    raw = tiny_search(sampler="random")
    raw["budgets"] = {"max_params": 3000}  # the MLP with > 32 units breaks it
    trainer = FakeTrainer()
    result = tune(raw, TuneOptions(trials=8, tracking=False, quiet=True), trainer=trainer)
    rejected = [r for r in result.rows if r.state == "REJECTED"]
    trained = [r for r in result.rows if r.state == "COMPLETE"]
    assert rejected and trained
    assert len(trainer.trained) == len(trained)  # no epoch spent on a rejected trial
    for row in rejected:
        assert row.note.startswith("over budget: params ")
        assert "> max_params 3,000" in row.note
    assert result.counts["rejected"] == len(rejected)


def test_study_resumes_and_writes_a_concrete_best_blueprint(tiny_search: Any,
                                                            kiln_home: Path) -> None:
    raw = tiny_search()
    first = tune(raw, TuneOptions(trials=3, tracking=False, quiet=True), trainer=FakeTrainer())
    assert len(first.rows) == 3
    again = tune(raw, TuneOptions(trials=5, tracking=False, quiet=True), trainer=FakeTrainer())
    assert [r.number for r in again.rows] == [0, 1, 2, 3, 4]
    same = tune(raw, TuneOptions(trials=5, tracking=False, quiet=True), trainer=FakeTrainer())
    assert len(same.rows) == 5  # nothing left to do
    assert again.best_blueprint == kiln_home / "tune" / "tiny_search" / "best.yaml"
    best = load_blueprint(again.best_blueprint)  # no distributions left
    assert best.training.lr == pytest.approx(again.best_params["lr"])
    assert best.search == SearchSettings()  # the section was dropped: defaults only
    payload = json.loads(json.dumps(again.to_dict(), default=str))
    assert payload["study"] == "tiny_search"
    assert payload["best_value"] == max(r.values[0] for r in again.rows if r.values)
    assert payload["states"]["complete"] + payload["states"].get("pruned", 0) == 5
    html = Path(payload["report"]).read_text()
    assert "Optimisation history" in html and "data:image/png;base64," in html
    assert "Parameter importances" in html


def test_objectives_must_match_a_resumed_study(tiny_search: Any) -> None:
    from kiln.errors import BlueprintError

    tune(tiny_search(), TuneOptions(trials=1, tracking=False, quiet=True),
         trainer=FakeTrainer())
    with pytest.raises(BlueprintError, match="this study optimises accuracy"):
        tune(tiny_search(), TuneOptions(trials=2, objectives=["accuracy", "params"],
                                        tracking=False, quiet=True), trainer=FakeTrainer())


@pytest.mark.parametrize("pruner", ["median", "hyperband"])
def test_pruner_stops_poor_trials(pruner: str, tiny_search: Any) -> None:
    raw = tiny_search(sampler="random", pruner=pruner, startup_trials=2, warmup_epochs=0)
    result = tune(raw, TuneOptions(trials=12, tracking=False, quiet=True),
                  trainer=FakeTrainer())
    pruned = [r for r in result.rows if r.state == "PRUNED"]
    assert pruned
    assert all(r.note.startswith("pruned after epoch") for r in pruned)


def test_several_objectives_give_a_pareto_front(tiny_search: Any) -> None:
    raw = tiny_search(startup_trials=2)
    result = tune(raw, TuneOptions(trials=8, objectives=["accuracy", "params"],
                                   tracking=False, quiet=True), trainer=FakeTrainer())
    assert result.directions == ["maximize", "minimize"]
    assert result.pareto and result.best_number in result.pareto
    assert not any(r.state == "PRUNED" for r in result.rows)  # no pruning for several
    html = Path(str(result.report)).read_text()
    assert "Pareto front" in html and "chosen" not in html.split("Pareto front")[0][-10:]
    values = result.to_dict()["best_values"]
    assert set(values) == {"accuracy", "params"}


def test_cost_objectives_are_measured_on_the_built_model(tiny_search: Any) -> None:
    raw = tiny_search(trials=3, sampler="random")
    result = tune(raw, TuneOptions(objectives=["accuracy", "latency", "onnx_size"],
                                   tracking=False, quiet=True), trainer=FakeTrainer())
    for row in result.rows:
        assert row.values is not None
        _, latency, size = row.values
        assert 0 < latency < 1000  # ms per batch on this CPU
        assert 1000 < size < 1_000_000  # bytes of the exported ONNX model
    assert result.directions == ["maximize", "minimize", "minimize"]


def test_a_failing_trial_is_recorded_and_the_study_goes_on(tiny_search: Any) -> None:
    from kiln.errors import DataError

    class Flaky(FakeTrainer):
        def __call__(self, blueprint: Blueprint, **kwargs: Any) -> TrainOutcome:
            if not self.trained:
                self.trained.append(0.0)
                raise DataError("data/x.csv: no such file")
            return super().__call__(blueprint, **kwargs)

    result = tune(tiny_search(sampler="random"), TuneOptions(trials=2, tracking=False,
                                                             quiet=True), trainer=Flaky())
    assert [r.state for r in result.rows] == ["FAIL", "COMPLETE", "COMPLETE"]
    assert result.rows[0].note == "DataError: data/x.csv: no such file"
