"""The blueprint's `monitor:` section: windows, drift thresholds and alert floors for
`kiln monitor` (see docs/monitor.md). Validated when the blueprint is loaded."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from kiln.blueprint.section import Section

Fraction = Annotated[float, Field(ge=0, le=1)]


class DriftThresholds(Section):
    """Where each drift measure calls drift. p-value tests (KS, chi-square, the domain
    classifier's Mann–Whitney test) use `alpha` after the multiple-testing correction."""

    # Normalised Wasserstein (distance / reference std): Evidently's default for large data.
    wasserstein: Annotated[float, Field(gt=0)] = 0.1
    # Population stability index: 0.1 "moderate", 0.25 "major" by the usual convention.
    psi: Annotated[float, Field(gt=0)] = 0.25
    # Jensen–Shannon distance (base 2, 0..1) between category shares: Evidently's default.
    jensen_shannon: Fraction = 0.1
    # Share of live rows whose category training never saw.
    unseen_share: Fraction = 0.05
    # Domain-classifier ROC-AUC reported as drift only when also significant at `alpha`.
    domain_auc: Annotated[float, Field(ge=0.5, le=1)] = 0.55


class MonitorSpec(Section):
    """Settings of drift and performance monitoring."""

    # Fewer live rows than this in a window: tests are reported but raise no alert.
    min_window_rows: Annotated[int, Field(gt=0)] = 200
    # Family-wise false-alarm rate of the drift verdict across all features.
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.05
    # How p-values of many features are combined: Benjamini–Hochberg keeps the overall
    # false-alarm rate at alpha when nothing drifted and loses less power than Bonferroni.
    correction: Literal["bh", "bonferroni", "holm"] = "bh"
    thresholds: DriftThresholds = Field(default_factory=DriftThresholds)
    # Above this effective size (n_ref·n_live / (n_ref + n_live)), numeric drift is judged
    # by the normalised Wasserstein distance: KS would flag differences too small to matter.
    large_sample_rows: Annotated[int, Field(gt=0)] = 1000
    # Rows of each side the domain classifier sees (a seeded sample beyond).
    domain_rows: Annotated[int, Field(ge=100)] = 2000
    # Realised accuracy (labelled rows) below this raises an alert; None: no floor.
    accuracy_floor: Fraction | None = None
    # Confidence-based estimated accuracy below this raises an alert; None: no floor.
    estimated_accuracy_floor: Fraction | None = None
    # Labelled rows needed before realised accuracy is judged against its floor.
    min_labelled_rows: Annotated[int, Field(gt=0)] = 50
    # Share of answers flagged out of distribution above this raises an alert.
    ood_rate_ceiling: Fraction = 0.1
