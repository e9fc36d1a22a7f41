"""Task metrics on NumPy arrays: a registry of named metrics (`@metric`), scoring over one
or several targets, and the direction of an objective. Torch-free; scikit-learn is
imported by the metrics that use it, when they run."""

from __future__ import annotations

from kiln.metrics import multilabel, regression  # noqa: F401  (registers their metrics)
from kiln.metrics.classification import (
    ECE_BINS,
    LOG_LOSS_EPS,
    confidence_bins,
    confusion,
    expected_calibration_error,
)
from kiln.metrics.registry import METRICS, Metric, lower_is_better, metric, metric_names
from kiln.metrics.scoring import better, score, score_targets

__all__ = ["ECE_BINS", "LOG_LOSS_EPS", "METRICS", "Metric", "better", "confidence_bins",
           "confusion", "expected_calibration_error", "lower_is_better", "metric",
           "metric_names", "score", "score_targets"]
