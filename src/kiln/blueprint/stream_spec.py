"""The blueprint's `data.stream:` settings: how a table larger than memory is read when
`data.streaming` is on (docs/streaming.md). Every setting bounds memory, not the table."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from kiln.blueprint.section import Section

# `data.streaming: auto` streams a CSV or Parquet file at least this large on disk: past
# 1 GiB of Parquet (often 3-10 GiB as float64) the in-memory path needs several times the
# file in RAM (pandas table, float64 columns, float32 model arrays), more than a laptop has.
AUTO_STREAM_BYTES = 1 << 30

Rows = Annotated[int, Field(gt=0)]


class StreamSpec(Section):
    """Bounds of a streamed run; peak memory grows with these, never with the table."""

    # Rows read per record batch (Arrow decodes this many rows of every column at once).
    batch_rows: Rows = 65_536
    # Training rows held and shuffled together; batches are drawn from this window. Larger
    # mixes better across the file, at batch_rows + shuffle_window rows of memory.
    shuffle_window: Rows = 131_072
    # Rows per split kept in memory as a uniform sample (bottom-k by row hash): feature
    # inference, median imputation, class weights, and the bundle's profile and checks.
    sample_rows: Rows = 10_000
    # Rows per split whose predictions are kept for the validation and test metrics
    # (ROC AUC needs them all at once); a larger split is scored on a uniform subset of
    # this many rows, chosen by row key. The loss always covers every row.
    score_rows: Rows = 1_000_000
    # Columns whose values make the row key that assigns splits (an id column is cheapest);
    # default: every feature, so rows with identical features share a split.
    key: list[str] | None = None
