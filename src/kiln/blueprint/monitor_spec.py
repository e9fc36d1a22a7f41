"""The blueprint's `monitor:` section: windows, drift thresholds and alert floors for
`kiln monitor` (see docs/monitor.md). Validated when the blueprint is loaded."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from kiln.blueprint.section import Section


class MonitorSpec(Section):
    """Settings of drift and performance monitoring."""

    # Fewer live rows than this in a window: tests are reported but raise no alert.
    min_window_rows: Annotated[int, Field(gt=0)] = 200
    # Family-wise false-alarm rate of the drift verdict across all features.
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05
