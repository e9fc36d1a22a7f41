"""The search space: parsing, validation errors with key paths, conditional sampling."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml

from kiln.blueprint.load import find_distributions, validate
from kiln.errors import BlueprintError
from kiln.tune.settings import load_search, objective_names
from kiln.tune.space import parse_space

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def with_lr(tiny_search: Any) -> Any:
    def make(dist: dict[str, Any]) -> dict[str, Any]:
        raw = tiny_search()
        raw["training"]["lr"] = dist
        return raw

    return make


@pytest.mark.parametrize(("dist", "message"), [
    ({"tune": "float", "low": 0.1, "high": 0.01},
     "training.lr: low 0.1 > high 0.01 — swap them"),
    ({"tune": "choice", "values": []}, "training.lr.values: an empty choice"),
    ({"tune": "flot", "low": 0.1, "high": 1.0},
     'training.lr.tune: \'flot\' is not a distribution — did you mean "float"?'),
    ({"tune": "float", "low": 0.0, "high": 1.0, "log": True},
     "training.lr.low: log: true needs low > 0, got 0.0"),
    ({"tune": "float", "lo": 0.1, "high": 1.0},
     'training.lr.lo: unknown key of a float distribution — did you mean "low"?'),
    ({"tune": "int", "low": 1.5, "high": 4}, "training.lr.low: 1.5 is not an integer"),
    ({"tune": "float", "high": 1.0}, "training.lr.low: required for a float distribution"),
    ({"tune": "float", "low": 0.1, "high": 1.0, "log": True, "step": 0.1},
     "training.lr: step and log: true cannot be combined"),
])
def test_distribution_errors_name_the_key_path(dist: dict[str, Any], message: str,
                                              with_lr: Any) -> None:
    with pytest.raises(BlueprintError) as info:
        load_search(with_lr(dist))
    assert message in str(info.value)


def test_errors_carry_the_line_of_the_file(write_blueprint: Any, with_lr: Any) -> None:
    path = write_blueprint(with_lr({"tune": "float", "low": 1.0, "high": 0.5}))
    with pytest.raises(BlueprintError, match=r"search.yaml: training.lr \(line \d+\): low 1.0"):
        load_search(path)


def test_every_problem_is_reported_at_once(with_lr: Any) -> None:
    raw = with_lr({"tune": "float", "low": 1.0, "high": 0.5})
    raw["training"]["batch_size"] = {"tune": "choice", "values": []}
    with pytest.raises(BlueprintError) as info:
        load_search(raw)
    assert "training.lr: low" in str(info.value)
    assert "training.batch_size.values: an empty choice" in str(info.value)


def test_duplicate_names_are_refused(with_lr: Any) -> None:
    raw = with_lr({"tune": "float", "name": "units", "low": 1e-3, "high": 1e-2})
    with pytest.raises(BlueprintError, match="'units' is already the name of"):
        load_search(raw)


def test_structural_mistakes_surface_before_any_trial(with_lr: Any, tiny_search: Any) -> None:
    """A value that no Blueprint accepts is found in a representative variant."""
    raw = with_lr({"tune": "choice", "values": [0.01, "fast"]})
    with pytest.raises(BlueprintError,
                       match=r"training.lr: 'fast'.*search space at .*training.lr=fast"):
        load_search(raw)
    raw = tiny_search()
    raw["training"]["optimizer"] = {"tune": "choice", "values": ["adam", "adamm"]}
    with pytest.raises(BlueprintError, match="adamm"):
        load_search(raw)


def test_a_blueprint_without_distributions_is_refused() -> None:
    raw = yaml.safe_load((EXAMPLES / "digits_cnn.yaml").read_text())
    with pytest.raises(BlueprintError, match="no search distribution — nothing to tune"):
        load_search(raw)


def test_search_section_cannot_be_searched(tiny_search: Any) -> None:
    raw = tiny_search(trials={"tune": "int", "low": 1, "high": 3})
    with pytest.raises(BlueprintError, match=r"search\.trials: the search section"):
        load_search(raw)


def test_unknown_search_setting_suggests(tiny_search: Any) -> None:
    with pytest.raises(BlueprintError, match=r"search.*samplr"):
        load_search(tiny_search(samplr="tpe"))


def test_conditional_sub_space_is_sampled_only_when_chosen(tiny_search: Any) -> None:
    raw = tiny_search()
    raw["architecture"]["encoders"]["image"]["values"][1][0]["conv2d"]["out_channels"] = {
        "tune": "choice", "name": "cnn.width", "values": [4, 8]}
    search = load_search(raw)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    seen: dict[str, set[str]] = {"mlp": set(), "cnn": set()}
    for _ in range(12):
        trial = study.ask()
        concrete = search.space.sample(trial)
        validate(concrete)  # a concrete, valid blueprint
        assert find_distributions(concrete) == []
        seen[trial.params["encoder"]] |= set(trial.params)
        study.tell(trial, 0.0)
    assert "cnn.width" in seen["cnn"]
    assert "cnn.width" not in seen["mlp"]


def test_choice_of_blocks_gets_readable_labels() -> None:
    space = parse_space({"trunk": [{"tune": "choice", "values": [
        {"linear": {"units": 8}}, {"residual": [{"linear": {"units": 8}}]}, "relu"]}]})
    (dist,) = space.params
    assert dist.labels == ("linear", "residual", "relu")
    assert dist.conditional


def test_variants_cover_every_option_and_both_ends() -> None:
    search = load_search(EXAMPLES / "digits_search.yaml")
    picked = " ".join(p for p, _ in search.space.variants())
    for option in ("encoder=cnn", "encoder=mlp", "cnn.block=conv2d", "cnn.block=sepconv2d",
                   "cnn.repeats=1", "cnn.repeats=3", "mlp.units=32", "mlp.units=256"):
        assert option in picked


def test_grid_values() -> None:
    space = parse_space({"a": {"tune": "int", "low": 16, "high": 64, "step": 16},
                         "b": {"tune": "float", "low": 0.0, "high": 0.5, "step": 0.25},
                         "c": {"tune": "choice", "values": [1, 2]}})
    assert space.grid() == {"a": [16, 32, 48, 64], "b": [0.0, 0.25, 0.5], "c": [1, 2]}
    with pytest.raises(BlueprintError, match="needs a finite set of values"):
        parse_space({"a": {"tune": "float", "low": 0.0, "high": 1.0}}).grid()


def test_objective_names_are_checked(tiny_search: Any) -> None:
    base = load_search(tiny_search()).base
    assert objective_names([], base) == ["accuracy"]
    assert objective_names(["accuracy", "latency"], base) == ["accuracy", "latency"]
    with pytest.raises(BlueprintError, match='did you mean "latency"'):
        objective_names(["accuracy", "latncy"], base)
    with pytest.raises(BlueprintError, match="has no task metric"):
        objective_names(["params"], base)


def test_example_is_a_valid_search_and_plain_load_refuses_it() -> None:
    from kiln.blueprint import load_blueprint

    search = load_search(EXAMPLES / "digits_search.yaml")
    assert len(search.space.params) == 11
    with pytest.raises(BlueprintError, match="is a search distribution"):
        load_blueprint(EXAMPLES / "digits_search.yaml")
    untouched = copy.deepcopy(search.space.raw)
    search.space.variants()
    assert search.space.raw == untouched
