"""Runs on disk: `$KILN_HOME/runs/<run_id>/`, `load_run`, `list_runs` and `kiln_home`.

Every stage that reads a trained run (evaluate, report, compress, export, tune, tracking,
the CLI) imports it from here, not from `kiln.train`: training writes runs, everything
else reads them. Nothing here imports torch at import time.
"""

from __future__ import annotations

from kiln.runs.run import Run, kiln_home, list_runs, load_run, runs_root, update_info

__all__ = ["Run", "kiln_home", "list_runs", "load_run", "runs_root", "update_info"]
