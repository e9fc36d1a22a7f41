"""Where a retrain's new labelled rows come from: a file, or the prediction log.

Both give one DataFrame of raw feature and target columns, oldest row first, which the
recipe (`kiln.retrain.recipe`) splits into training, validation and fresh holdout rows.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from kiln.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

    from kiln.blueprint.schema import Blueprint


def from_file(path: str | Path, blueprint: Blueprint) -> pd.DataFrame:
    """Rows of a CSV / Parquet / .npz file with the blueprint's feature and target columns
    (read as the blueprint's declared features say). Raises `DataError` for a missing or
    unreadable file."""
    from kiln.data.sources import load_source

    return load_source(Path(path), features=blueprint.data.features).frame


def from_log(log: str | Path, blueprint: Blueprint, *, name: str, since: float | None,
             until: float | None) -> pd.DataFrame:
    """Labelled rows of the prediction log in (since, until]: the logged inputs as sent,
    with the feedback label as the target column. One target only: the log carries one
    label per record."""
    import pandas as pd

    from kiln import prediction_log

    targets = blueprint.task.targets
    if len(targets) != 1 or len(targets[0].source_columns) != 1:
        raise DataError(f"{blueprint.name}: the prediction log holds one label per record, "
                        f"but the blueprint has {sum(len(t.source_columns) for t in targets)}"
                        f" target columns — pass the new rows with --new-data FILE",
                        where="task.targets")
    target = targets[0].source_columns[0]
    conn = prediction_log.connect(log, create=False)
    try:
        model = name if prediction_log.count(conn, model=name) else None
        rows = [r for r in prediction_log.read(conn, since=since, model=model)
                if r.label is not None and (since is None or r.ts > since)
                and (until is None or r.ts <= until)]
    finally:
        conn.close()
    records = [{**r.inputs, target: r.label} for r in rows]  # read() is in time order
    return pd.DataFrame.from_records(records) if records else pd.DataFrame(columns=[target])
