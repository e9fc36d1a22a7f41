"""The report: a run's evaluation drawn as one self-contained HTML page (`report.html`).

The stage loads on first use (PEP 562) so that importing kiln stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kiln.report.stage import report

__all__ = ["report"]


def __getattr__(name: str) -> Any:
    if name == "report":
        from kiln.report.stage import report

        return report
    raise AttributeError(f"module 'kiln.report' has no attribute {name!r}")
