"""`kiln demo`: the whole loop on a bundled dataset — ship, serve, drift, detect, retrain,
promote, follow — as a Python function.

    from kiln.demo import LoopSettings, run_loop
    result = run_loop(bp, folder=Path("demo"))
    result.figures["drift_to_alert_s"], result.artifacts["summary"]

Modules: `server` (a real `kiln serve` process), `traffic` (clean and drifted rows),
`loop` (the steps), `page` (the summary page linking every artifact).
"""

from __future__ import annotations

from kiln.demo.loop import LoopResult, LoopSettings, run_loop
from kiln.demo.page import write_summary

__all__ = ["LoopResult", "LoopSettings", "run_loop", "write_summary"]
