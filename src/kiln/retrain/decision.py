"""The end of a retrain: judge both models on the fresh holdout, apply the gate, promote
or not, and close the record (file and MLflow).

Promotion is idempotent: when the champion alias already points at the challenger (a run
killed after promoting, before writing its record), it is not moved again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiln.retrain import record as records

if TYPE_CHECKING:
    import pandas as pd

    from kiln.blueprint.retrain_spec import RetrainSpec
    from kiln.blueprint.schema import Blueprint


def conclude(record: dict[str, Any], challenger_bp: Blueprint, spec: RetrainSpec, *,
             folder: Path, step: Callable[[str, Any], None]) -> dict[str, Any]:
    """Judge, decide, promote when the gate passes; returns the decided record (saved)."""
    from kiln.retrain.gate import decide
    from kiln.retrain.judge import judge

    name = record["model"]
    champion, challenger = record["champion"], record["challenger"]
    champion_bundle = _bundle(name, champion["version"], None, folder / "champion")
    challenger_bundle = _bundle(name, challenger["version"], challenger.get("bundle"),
                                folder / "challenger")
    judged = judge(champion_bundle, challenger_bundle, holdout(folder / "data.npz"),
                   challenger_bp, spec.gate, seed=challenger_bp.seed)
    problems = [challenger["budget_error"]] if spec.gate.budgets and \
        challenger.get("budget_error") else []
    gate = decide(judged.test, min_improvement=spec.gate.min_improvement,
                  alpha=spec.gate.alpha, budget_problems=problems)
    step("gate", gate)
    champion["metrics"] = judged.side("champion")
    challenger["metrics"] = judged.side("challenger")
    record.update(test=judged.test.to_dict(), gate=gate.to_dict(), holdout_rows=judged.rows)
    if gate.passed:
        _promote(name, int(challenger["version"]))
        step("promote", challenger["version"])
    record.update(decision="promoted" if gate.passed else "refused", reason=gate.reason,
                  status="decided", decided_at=time.time())
    record["mlflow_run_id"] = records.log_to_mlflow(record)
    records.save_record(record)
    return record


def holdout(table: Path) -> pd.DataFrame:
    """The fresh holdout rows of a recipe's table."""
    from kiln.data.sources import load_source
    from kiln.retrain.recipe import HOLDOUT, SPLIT_COLUMN

    frame = load_source(table).frame
    return frame[frame[SPLIT_COLUMN] == HOLDOUT].reset_index(drop=True)


def _bundle(name: str, version: int, local: str | None, download_to: Path) -> Path:
    """The bundle of a version: the local copy when it is still there, else the registry's."""
    if local and Path(local).exists():
        return Path(local)
    from kiln.registry import bundle_path

    return bundle_path(name, str(version), dst=download_to)


def _promote(name: str, version: int) -> None:
    from kiln.registry import list_versions, promote

    current = next((v.version for v in list_versions(name) if "champion" in v.aliases), None)
    if current != version:  # already champion: a killed run promoted it; do not move again
        promote(name, version, alias="champion")
