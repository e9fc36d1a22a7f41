"""Promotion on shadow evidence: the registered challenger, served in shadow beside the
champion (`kiln serve models:/NAME@champion --shadow models:/NAME@challenger`), replaces
the champion when its answers to the same live records beat the champion's once the
delayed labels are in.

    decision = promote_on_shadow("digits", "kiln-runs/predictions.db")
    decision.passed, decision.reason, decision.record

The same gate as `kiln retrain` (exact McNemar for classification, a paired bootstrap of
the absolute error for regression; `retrain.gate.min_improvement` and `alpha`), on the
labelled pairs of the prediction log — the live traffic the two versions both answered —
instead of a fresh holdout. Budgets were checked when the challenger was registered.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kiln import prediction_log
from kiln.blueprint.retrain_spec import GateSpec
from kiln.errors import RegistryError
from kiln.retrain.gate import GateDecision, decide, mcnemar, paired_bootstrap

MIN_PAIRS = 30  # fewer labelled pairs than this: no decision (the comparison is noise)


@dataclass
class ShadowDecision:
    """The outcome: `passed` (and promoted), why, and the record written for it."""

    passed: bool
    promoted: bool
    reason: str
    record: dict[str, Any]
    record_path: Path | None


def promote_on_shadow(name: str, log: str | Path, *, gate: GateSpec | None = None,
                      since: float | None = None, min_pairs: int = MIN_PAIRS
                      ) -> ShadowDecision:
    """Judge NAME's challenger against its champion on their labelled shadow pairs in `log`
    (from `since`, unix seconds), and promote it to champion when the gate passes.

    Raises `RegistryError` when NAME has no champion or no challenger, `DataError` for a
    log that is missing or not a prediction log. Promoting is idempotent: a challenger that
    already is the champion is reported, not promoted twice.
    """
    from kiln.registry import list_versions, promote

    gate = gate or GateSpec()
    champion, challenger = _aliased(name, list_versions(name))
    pairs = _labelled_pairs(log, str(champion), str(challenger), since)
    record: dict[str, Any] = {"kind": "shadow_gate", "model": name, "champion": champion,
                              "challenger": challenger, "log": str(log), "since": since,
                              "pairs": len(pairs), "at": time.time()}
    if len(pairs) < min_pairs:
        reason = (f"only {len(pairs)} labelled pairs of champion v{champion} and shadow "
                  f"v{challenger} answers in the log — need {min_pairs}; wait for more "
                  f"traffic and /feedback labels")
        return _finish(record, passed=False, promoted=False, reason=reason)
    decision = _judge(pairs, gate)
    record["gate"] = decision.to_dict()
    reason = decision.reason.replace("the fresh holdout", "the labelled shadow pairs")
    if not decision.passed:
        return _finish(record, passed=False, promoted=False, reason=reason)
    promote(name, challenger, alias="champion")
    return _finish(record, passed=True, promoted=True,
                   reason=f"promoted v{challenger} to champion: {reason}")


def _aliased(name: str, versions: list[Any]) -> tuple[int, int]:
    by_alias = {alias: v.version for v in versions for alias in v.aliases}
    missing = [a for a in ("champion", "challenger") if a not in by_alias]
    if missing:
        raise RegistryError(f"{name}: no {' and no '.join(missing)} alias — register the "
                            f"challenger with `kiln registry promote {name} N --alias "
                            f"challenger` and serve it with --shadow first", where=name)
    return int(by_alias["champion"]), int(by_alias["challenger"])


def _labelled_pairs(log: str | Path, champion: str, challenger: str, since: float | None
                    ) -> list[tuple[prediction_log.LoggedPrediction,
                                    prediction_log.LoggedPrediction]]:
    """(champion answer, challenger answer) to the same labelled record, in log order."""
    conn = prediction_log.connect(log, create=False)
    try:
        primary = {(r.request_id, r.record): r
                   for r in prediction_log.read(conn, since=since, shadow=False)
                   if r.version == champion and r.label is not None}
        return [(primary[(s.request_id, s.record)], s)
                for s in prediction_log.read(conn, since=since, shadow=True)
                if s.version == challenger and (s.request_id, s.record) in primary]
    finally:
        conn.close()


def _judge(pairs: list[tuple[Any, Any]], gate: GateSpec) -> GateDecision:
    labels = [p.label for p, _ in pairs]
    if _is_regression(pairs[0][0]):
        truth = np.array([float(v) for v in labels])
        test = paired_bootstrap(np.array([_value(p) for p, _ in pairs]) - truth,
                                np.array([_value(s) for _, s in pairs]) - truth,
                                resamples=gate.bootstrap)
    else:
        test = mcnemar(np.array([p.prediction == p.label for p, _ in pairs]),
                       np.array([s.prediction == p.label for p, s in pairs]))
    return decide(test, min_improvement=gate.min_improvement, alpha=gate.alpha,
                  budget_problems=[])


def _is_regression(row: Any) -> bool:
    first: Any = next(iter(row.outputs.values()), {})
    return isinstance(first, dict) and "value" in first


def _value(row: Any) -> float:
    return float(row.prediction) if row.prediction is not None else math.nan


def _finish(record: dict[str, Any], *, passed: bool, promoted: bool,
            reason: str) -> ShadowDecision:
    from kiln.files import write_json
    from kiln.runs import kiln_home

    record.update(passed=passed, promoted=promoted, reason=reason)
    path = kiln_home() / "retrain" / (f"shadow-{record['model']}-v{record['challenger']}"
                                      f"-{int(record['at'])}.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    write_json(path, record)
    return ShadowDecision(passed, promoted, reason, record, path)
