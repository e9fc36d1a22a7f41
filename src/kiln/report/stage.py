"""`kiln report`: a run → report.html, one self-contained file in the run directory."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiln.evaluate.stage import Evaluation
    from kiln.runs import Run

FILE = "report.html"


def report(run: Run | str | Path, *, evaluation: Evaluation | None = None,
           refresh: bool = False) -> Path:
    """Write report.html for a run and return its path.

    Draws the run's evaluation.json, evaluating first when there is none, when the weights
    are newer than it, or with `refresh`; `evaluation` supplies one directly. Also logged as
    an artifact of the run's MLflow run. Raises `RunError` for an unknown or unfinished run.
    """
    from kiln.evaluate.stage import FILE as EVALUATION
    from kiln.evaluate.stage import evaluate
    from kiln.files import atomic_write_text
    from kiln.report.page import render
    from kiln.runs import load_run

    run = load_run(run) if isinstance(run, str | Path) else run
    stored = run.dir / EVALUATION
    if evaluation is not None:
        ev = evaluation.to_dict()
    elif refresh or _stale(stored, run.dir / "weights.safetensors"):
        ev = evaluate(run).to_dict()
    else:
        ev = json.loads(stored.read_text(encoding="utf-8"))
    rows, totals = design_rows(run)
    page = render(ev, run.metrics.get("history", []), run.info, rows, totals,
                  run.metrics.get("members", []))
    path = run.dir / FILE
    atomic_write_text(path, page)
    if run.info.get("mlflow_run_id"):
        from kiln.tracking import log_artifact

        log_artifact(run, path)
    return path


def _stale(evaluation: Path, weights: Path) -> bool:
    if not evaluation.exists():
        return True
    return weights.exists() and weights.stat().st_mtime > evaluation.stat().st_mtime


def design_rows(run: Run) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The design table of the run's model (no latency measurement); empty when the model
    cannot be rebuilt here (a plugin file that moved, say)."""
    from kiln.design import design
    from kiln.errors import KilnError

    try:
        table = design(run.blueprint, run.signature, measure=False).to_dict()
    except KilnError:
        return [], {}
    return table["layers"], {"params": table["params"], "flops": table["flops"],
                             "members": table["members"]}
