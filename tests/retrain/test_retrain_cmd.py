"""`kiln retrain` and `kiln rollback` at the command line: user mistakes are one red line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from retrain_helpers import table, write_blueprint, write_csv


def _blueprint(tmp_path: Path) -> Path:
    return write_blueprint(tmp_path, write_csv(table(60, seed=1), tmp_path / "old.csv"))


def test_missing_new_data_file(tmp_path: Path, kiln_cli: Any) -> None:
    code, _, err = kiln_cli("retrain", str(_blueprint(tmp_path)), "--new-data",
                            str(tmp_path / "nope.csv"))
    assert code == 2 and "nope.csv: no such file" in err and "Traceback" not in err


def test_no_champion_to_challenge(tmp_path: Path, kiln_cli: Any) -> None:
    fresh = write_csv(table(200, seed=2), tmp_path / "fresh.csv")
    code, _, err = kiln_cli("retrain", str(_blueprint(tmp_path)), "--new-data", str(fresh))
    assert code == 2 and "no registered model 'rule'" in err


def test_bad_policy_file(tmp_path: Path, kiln_cli: Any) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("gate: {alpa: 0.1}\n")
    code, _, err = kiln_cli("retrain", str(_blueprint(tmp_path)), "--policy", str(policy))
    assert code == 2 and "retrain.gate.alpa" in err and 'did you mean "alpha"' in err


def test_nothing_fires_without_triggers(tmp_path: Path, kiln_cli: Any) -> None:
    from kiln import prediction_log

    log = tmp_path / "p.db"
    prediction_log.connect(log).close()
    code, out, err = kiln_cli("retrain", str(_blueprint(tmp_path)), "--log", str(log),
                              "--json")
    assert code == 0, err
    assert json.loads(out.strip().splitlines()[-1])["decision"] == "no_trigger"


def test_watch_checks_every_cycle(tmp_path: Path, kiln_cli: Any) -> None:
    from kiln import prediction_log

    log = tmp_path / "p.db"
    prediction_log.connect(log).close()
    code, out, err = kiln_cli("retrain", str(_blueprint(tmp_path)), "--log", str(log),
                              "--watch", "--every", "0", "--max-cycles", "3", "--json")
    assert code == 0, err
    cycles = json.loads(out.strip().splitlines()[-1])["cycles"]
    assert [c["decision"] for c in cycles] == ["no_trigger"] * 3


def test_rollback_of_an_unknown_model(kiln_cli: Any) -> None:
    code, _, err = kiln_cli("rollback", "nope")
    assert code == 2 and "no registered model 'nope'" in err
