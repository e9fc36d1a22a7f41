"""`task.threshold`: the decision threshold of a binary classifier, chosen on validation.

Two ways to say what a good threshold is (the seed's "a certain level of sensitivity",
"minimizing false positives"):

    threshold: {maximize: recall, subject_to: {precision: 0.9}}
    threshold: {costs: {false_positive: 1, false_negative: 5}}

`positive` names the positive class (default: the second of the two labels in sorted
order, e.g. `1` of 0/1, `yes` of no/yes).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from kiln.blueprint.section import Section

RateName = Literal["recall", "precision", "specificity", "f1", "accuracy"]


class CostSpec(Section):
    """What each kind of mistake costs; the threshold minimises the total on validation."""

    false_positive: Annotated[float, Field(ge=0)] = 1.0
    false_negative: Annotated[float, Field(ge=0)] = 1.0


class ThresholdSpec(Section):
    """The rule that picks the probability above which a row is called positive."""

    positive: str | None = None
    maximize: RateName | None = None
    # Lower bounds that the chosen threshold must meet on the validation split.
    subject_to: dict[RateName, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict)
    costs: CostSpec | None = None

    @model_validator(mode="after")
    def _one_rule(self) -> ThresholdSpec:
        if (self.maximize is None) == (self.costs is None):
            raise ValueError("give either `maximize` (with optional `subject_to`) or `costs` "
                             "— e.g. {maximize: recall, subject_to: {precision: 0.9}}")
        if self.costs is not None and self.subject_to:
            raise ValueError("subject_to: only used together with `maximize`")
        return self

    def describe(self) -> str:
        if self.costs is not None:
            return (f"minimise {self.costs.false_positive:g}·FP + "
                    f"{self.costs.false_negative:g}·FN")
        bounds = ", ".join(f"{k} ≥ {v:g}" for k, v in self.subject_to.items())
        return f"maximise {self.maximize}" + (f" subject to {bounds}" if bounds else "")
