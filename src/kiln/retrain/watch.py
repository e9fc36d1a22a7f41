"""`kiln retrain --watch`: check the policy every N seconds and retrain when it says so.

Each cycle is one `retrain(...)` call, so a watcher killed at any point resumes cleanly:
the next cycle (or the next watcher) finishes the undecided record first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiln.blueprint.retrain_spec import RetrainSpec, duration_seconds
from kiln.retrain.policy import load_policy
from kiln.retrain.stage import RetrainResult, retrain

if TYPE_CHECKING:
    from kiln.blueprint.schema import Blueprint


def watch(blueprint: Blueprint, *, log: str | Path | None = None,
          new_data: str | Path | None = None,
          policy: RetrainSpec | str | Path | None = None, name: str | None = None,
          every: float | None = None,
          max_cycles: int | None = None, report: bool = True,
          on_result: Callable[[RetrainResult], Any] | None = None,
          sleep: Callable[[float], Any] = time.sleep) -> list[RetrainResult]:
    """Run `retrain` every `every` seconds (default: the policy's `check_every`), for
    `max_cycles` cycles (None: until interrupted). Returns every cycle's result."""
    spec = policy if isinstance(policy, RetrainSpec) else load_policy(policy, blueprint=blueprint)
    period = every if every is not None else duration_seconds(spec.check_every)
    results: list[RetrainResult] = []
    while max_cycles is None or len(results) < max_cycles:
        if results:
            sleep(period)
        result = retrain(blueprint, log=log, new_data=new_data, policy=spec, name=name,
                         report=report)
        results.append(result)
        if on_result is not None:
            on_result(result)
    return results
