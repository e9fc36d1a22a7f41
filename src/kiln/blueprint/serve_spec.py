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
    # How long the first queued request waits for others to join its batch.
    max_wait_ms: Annotated[float, Field(ge=0)] = 2.0
    # What to do with an input far outside the training profile.
    ood_policy: Literal["flag", "abstain", "fallback"] = "flag"
