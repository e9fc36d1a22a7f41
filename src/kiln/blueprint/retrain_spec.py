"""The blueprint's `retrain:` section: the policy of `kiln retrain` — when to train a
challenger, on what data, and the gate it must pass (see docs/retrain.md). Validated when
the blueprint is loaded."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from kiln.blueprint.section import Section


class RetrainSpec(Section):
    """The retraining policy."""

    # The challenger must beat the champion by at least this much on the fresh holdout.
    min_improvement: Annotated[float, Field(ge=0)] = 0.0
    # Significance level of the paired test (McNemar / paired bootstrap) of the gate.
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05
