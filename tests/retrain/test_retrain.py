"""`kiln retrain` end to end: a real champion in a real MLflow registry, a challenger
trained with the same blueprint, the gate on a fresh holdout, promotion or refusal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from retrain_helpers import table, write_blueprint, write_csv

from kiln import load_blueprint
from kiln.errors import TrainingError
from kiln.retrain import retrain
from kiln.retrain.gate import binomial_tail

pytestmark = pytest.mark.slow  # each test trains two tiny models (a few seconds each)


def ship_champion(folder: Path, *, flip: float, rows: int = 300, **kwargs: Any) -> Any:
    """Train, export and register the champion on old rows (`flip`: label noise)."""
    from kiln.pipeline import ship

    old = write_csv(table(rows, seed=1, flip=flip), folder / "old.csv")
    bp = load_blueprint(write_blueprint(folder, old, **kwargs))
    shipped = ship(bp, report=False)
    assert shipped.version is not None and shipped.version.version == 1
    return bp


def new_rows(folder: Path, n: int = 400) -> Path:
    return write_csv(table(n, seed=2), folder / "fresh.csv")


def aliases(name: str = "rule") -> dict[str, int]:
    from kiln.registry import list_versions

    return {a: v.version for v in list_versions(name) for a in v.aliases}


def champion_moves(name: str = "rule") -> list[dict[str, Any]]:
    from kiln.registry import history

    return [e for e in history(name) if e["alias"] == "champion"]


def test_promotes_a_clearly_better_challenger_then_rollback(tmp_path: Path, kiln_cli: Any,
                                                            kiln_home: Path) -> None:
    ship_champion(tmp_path, flip=0.45)  # the champion learnt from very noisy labels
    bp_file = tmp_path / "rule.yaml"
    code, out, err = kiln_cli("retrain", str(bp_file), "--new-data",
                              str(new_rows(tmp_path)), "--no-report", "--json")
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["decision"] == "promoted", result["reason"]
    record = result["record"]
    champion = record["champion"]["metrics"]["accuracy"]
    challenger = record["challenger"]["metrics"]["accuracy"]
    assert challenger["value"] > champion["value"] + 0.05
    assert challenger["ci95"][0] <= challenger["value"] <= challenger["ci95"][1]
    test = record["test"]
    b, c = test["details"]["champion_only_right"], test["details"]["challenger_only_right"]
    assert test["p_value"] == pytest.approx(binomial_tail(c, b + c)) and test["p_value"] < 0.05
    assert test["n"] == record["data"]["counts"]["holdout"] == 120
    assert aliases() == {"champion": 2}
    # the record: on disk (what the CLI printed) and in MLflow
    saved = json.loads((kiln_home / "retrain" / f"{record['id']}.json").read_text())
    assert saved["decision"] == "promoted" and saved["status"] == "decided"
    from kiln.tracking import client

    run = client().get_run(saved["mlflow_run_id"])
    assert run.data.metrics["p_value"] == pytest.approx(test["p_value"])
    assert run.data.tags["kiln.decision"] == "promoted"
    # the same new data again: the trigger was decided, nothing is trained or promoted
    code, out, _ = kiln_cli("retrain", str(bp_file), "--new-data", str(tmp_path / "fresh.csv"),
                            "--no-report", "--json")
    again = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and again["repeated"] and again["decision"] == "promoted"
    assert len(champion_moves()) == 2  # the first champion, then version 2; nothing more
    # `kiln rollback` puts the previous champion back
    code, out, err = kiln_cli("rollback", "rule", "--json")
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["version"] == 1
    assert aliases()["champion"] == 1


def test_refuses_an_equal_challenger_and_says_why(tmp_path: Path) -> None:
    # a champion that learnt the rule from 1000 clean rows: new rows add nothing
    bp = ship_champion(tmp_path, flip=0.0, rows=1000)
    result = retrain(bp, new_data=new_rows(tmp_path), report=False,
                     policy=_policy(tmp_path, "gate: {min_improvement: 0.02}"))
    assert result.decision == "refused"
    assert result.record is not None
    test = result.record["test"]
    assert test["improvement"] < 0.02
    assert "not better than the champion" in result.reason or "below the gate's " \
        "min_improvement 0.02" in result.reason
    assert aliases() == {"champion": 1, "challenger": 2}  # refused, still registered
    assert result.record is not None and result.record["gate"]["passed"] is False


def test_refuses_a_better_challenger_that_breaks_a_budget(tmp_path: Path) -> None:
    ship_champion(tmp_path, flip=0.45)
    (tmp_path / "strict").mkdir()
    strict = load_blueprint(write_blueprint(tmp_path / "strict", tmp_path / "old.csv",
                                            budgets="{max_size_mb: 0.0001}"))
    result = retrain(strict, new_data=new_rows(tmp_path), report=False)
    assert result.decision == "refused"
    assert "breaks a budget" in result.reason and "max_size_mb" in result.reason
    assert aliases() == {"champion": 1, "challenger": 2}


def test_a_killed_retrain_resumes_and_never_promotes_twice(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    from kiln.registry import list_versions

    bp = ship_champion(tmp_path, flip=0.45)
    fresh = new_rows(tmp_path)

    def killed(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt("killed")

    def fails(*args: Any, **kwargs: Any) -> Any:
        raise TrainingError("the loss is not finite")

    with monkeypatch.context() as m:  # 0: a stage fails: the record says so, not resumed
        m.setattr("kiln.pipeline.ship", fails)
        with pytest.raises(TrainingError):
            retrain(bp, new_data=fresh, report=False)
    from kiln.retrain.record import model_records

    (failed,) = model_records("rule")
    assert failed["status"] == "failed" and "not finite" in failed["error"]
    with monkeypatch.context() as m:  # 1: started again, killed while training
        m.setattr("kiln.pipeline.ship", killed)
        with pytest.raises(KeyboardInterrupt):
            retrain(bp, new_data=fresh, report=False)
    assert [v.version for v in list_versions("rule")] == [1]
    with monkeypatch.context() as m:  # 2: killed after promoting, before the record closed
        m.setattr("kiln.retrain.record.log_to_mlflow", killed)
        with pytest.raises(KeyboardInterrupt):
            retrain(bp, new_data=fresh, report=False)
    assert aliases()["champion"] == 2
    finished = retrain(bp, new_data=fresh, report=False)  # 3: resumes, does not promote
    assert finished.resumed and finished.decision == "promoted"
    assert [v.version for v in list_versions("rule")] == [2, 1]
    assert [e["version"] for e in champion_moves()] == [1, 2]
    repeated = retrain(bp, new_data=fresh, report=False)  # 4: decided: nothing to do
    assert repeated.repeated and repeated.record == finished.record
    assert [v.version for v in list_versions("rule")] == [2, 1]


def test_watch_retrains_from_labelled_log_rows_once(tmp_path: Path) -> None:
    from kiln.retrain import watch

    bp = ship_champion(tmp_path, flip=0.45)
    log = _serve_log(tmp_path / "predictions.db", table(400, seed=2))
    results = watch(bp, log=log, report=False, every=0, max_cycles=2,
                    policy=_policy(tmp_path, "triggers: {new_labelled_rows: 300}"))
    assert [r.decision for r in results] == ["promoted", "no_trigger"]
    first = results[0]
    assert first.trigger is not None and first.trigger.kind == "new_labelled_rows"
    assert first.record is not None and first.record["data"]["counts"]["new"] == 400
    assert aliases() == {"champion": 2}
    # more labelled rows: the next challenger starts from the rows the champion trained on
    _serve_log(log, table(400, seed=3), start=1_700_010_000.0)
    second = retrain(bp, log=log, report=False,
                     policy=_policy(tmp_path, "triggers: {new_labelled_rows: 300}"))
    assert second.record is not None and second.trigger is not None
    assert second.trigger.since == first.trigger.until  # only rows after the last retrain
    counts, before = second.record["data"]["counts"], first.record["data"]["counts"]
    assert counts["new"] == 400
    assert counts["original_train"] == before["original_train"] + before["new_train"]
    assert second.record["data"]["sources"][0].endswith(
        f"{first.record['id']}/data.npz")


def _serve_log(path: Path, rows: Any, *, start: float = 1_700_000_000.0) -> Path:
    """What `kiln serve --log` and `/feedback` would write: the champion's answers to
    `rows`, then the true label of each."""
    from kiln import prediction_log
    from kiln.bundle import load
    from kiln.registry import bundle_path

    bundle = load(bundle_path("rule", "champion"))
    records = rows.drop(columns=["label"]).to_dict("records")
    answers = bundle.predict(records)
    conn = prediction_log.connect(path)
    prediction_log.append(conn, [
        prediction_log.row(request_id=f"q{start}-{i}", record=0, model="rule", version="1",
                           inputs=rec, outputs=ans, prediction=ans["label"]["label"],
                           confidence=ans["label"]["confidence"], ood=[], latency_ms=1.0,
                           ts=start + i)
        for i, (rec, ans) in enumerate(zip(records, answers, strict=True))])
    for i, label in enumerate(rows["label"]):
        prediction_log.add_feedback(conn, f"q{start}-{i}", [label])
    conn.close()
    return path


def _policy(folder: Path, text: str) -> Path:
    path = folder / "policy.yaml"
    path.write_text(text + "\n")
    return path



def test_retune_searches_the_challenger_on_the_recipe_data(tmp_path: Path) -> None:
    from kiln.runs import load_run

    bp = ship_champion(tmp_path, flip=0.45)
    search = (tmp_path / "rule.yaml").read_text().replace(
        "lr: 0.01", "lr: {tune: float, low: 0.002, high: 0.05, log: true}").replace(
        "target: label,", "target: label, num_classes: 2,")  # tune builds before data
    (tmp_path / "search.yaml").write_text(search)
    result = retrain(bp, new_data=new_rows(tmp_path), report=False, policy=_policy(
        tmp_path, "retune: {search: search.yaml, trials: 2}"))
    assert result.record is not None
    run = load_run(result.record["challenger"]["run_id"])
    assert 0.002 <= run.blueprint.training.lr <= 0.05 and run.blueprint.training.lr != 0.01
    assert run.blueprint.data.source == result.record["data"]["table"]  # the recipe's rows
    assert result.decision == "promoted", result.reason
