"""Shadow agreement: how often a shadow model (`kiln serve --shadow`) answered like the
primary on the same records, and — where labels arrived — both accuracies on those rows.

    agreement("predictions.db", since=..., until=...)
    # {"model": "digits", "version": "4", "rows": 812, "agreement": 0.962,
    #  "labelled_rows": 300, "primary_accuracy": 0.91, "shadow_accuracy": 0.94}
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiln import prediction_log


def agreement(log: str | Path, *, since: float | None = None,
              until: float | None = None) -> dict[str, Any] | None:
    """Pairs of primary and shadow answers to the same (request id, record) in the window;
    None when the log holds no shadow answer there. Accuracies compare the prediction text
    with the feedback label, as the rest of the monitor does."""
    conn = prediction_log.connect(log, create=False)
    try:
        shadows = list(prediction_log.read(conn, since=since, until=until, shadow=True))
        if not shadows:
            return None
        primary = {(r.request_id, r.record): r
                   for r in prediction_log.read(conn, since=since, until=until, shadow=False)}
    finally:
        conn.close()
    pairs = [(primary[(s.request_id, s.record)], s) for s in shadows
             if (s.request_id, s.record) in primary]
    if not pairs:
        return None
    labelled = [(p, s) for p, s in pairs if p.label is not None]
    last = pairs[-1][1]
    return {"model": last.model, "version": last.version, "rows": len(pairs),
            "agreement": sum(p.prediction == s.prediction for p, s in pairs) / len(pairs),
            "labelled_rows": len(labelled),
            "primary_accuracy": _accuracy([(p.prediction, p.label) for p, _ in labelled]),
            "shadow_accuracy": _accuracy([(s.prediction, p.label) for p, s in labelled])}


def _accuracy(pairs: list[tuple[str | None, str | None]]) -> float | None:
    return sum(a == b for a, b in pairs) / len(pairs) if pairs else None
