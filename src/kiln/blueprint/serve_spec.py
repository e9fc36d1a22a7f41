"""The blueprint's `serve:` section: how `kiln serve` batches, bounds and logs.

Validated when the blueprint is loaded (like every section); `kiln serve` flags override it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from kiln.blueprint.section import Section

PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]


class ServeSpec(Section):
    """Settings of the prediction service (see docs/serve.md)."""

    # Rows (not requests) run together in one model call.
    max_batch_rows: PositiveInt = 64
    # How long the first queued request waits for others to join its batch — only while
    # other requests are being read, so a lone client never waits.
    max_wait_ms: Annotated[float, Field(ge=0)] = 2.0
    # Rows allowed to wait for the model; beyond, 503 with Retry-After (back-pressure).
    max_queue_rows: PositiveInt = 2048
    # A request still queued after this long gets 504 and is not run.
    timeout_ms: PositiveFloat = 2000.0
    # Largest request body, counted on the bytes received (Content-Length is not trusted).
    max_body_bytes: PositiveInt = 4 * 1024 * 1024
    # Most records in one request.
    max_rows_per_request: PositiveInt = 1024
    # Largest image upload in pixels (Pillow's decompression-bomb limit).
    max_image_pixels: PositiveInt = 4096 * 4096
    # ONNX Runtime intra-op threads of the one model thread; 1 leaves a core for HTTP.
    threads: PositiveInt = 1
    # What to do with an input far outside the training profile.
    ood_policy: Literal["flag", "abstain", "fallback"] = "flag"
    # The bundle that answers flagged records under ood_policy "fallback".
    fallback_bundle: str | None = None
    # A numeric value further than this many training standard deviations is flagged.
    ood_z: PositiveFloat = 6.0
    # Confidence below this quantile of the training confidence is flagged ("0.01" = 1 %).
    low_confidence_quantile: Literal["0", "0.01", "0.05"] = "0.01"
    # The prediction log (SQLite, WAL); None: $KILN_HOME/predictions.db.
    log: str | None = None
    # Rows are written at least this often; a crash loses at most this window.
    flush_ms: PositiveFloat = 200.0
    # Registry refs: seconds between alias checks (0: do not follow).
    follow_s: Annotated[float, Field(ge=0)] = 0.0
    # Seconds between the service's own monitor checks of its log (status page at `/`,
    # drift gauges on /metrics), in a background thread; 0: no checks.
    monitor_s: Annotated[float, Field(ge=0)] = 60.0
    # The log window those checks look at, in seconds back from now.
    monitor_window_s: PositiveFloat = 3600.0
