"""Regression metrics on values in the target's own units, through scikit-learn."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kiln.metrics.registry import metric


@dataclass
class Values:
    """y_true, y_pred: (N,) or (N, K) in the target's units."""

    y_true: np.ndarray
    y_pred: np.ndarray


@metric("mae", task="regression", lower_is_better=True)
def mae(c: Values) -> float:
    """Mean absolute error."""
    from sklearn import metrics as m

    return float(m.mean_absolute_error(c.y_true, c.y_pred))


@metric("mse", task="regression", lower_is_better=True)
def mse(c: Values) -> float:
    """Mean squared error."""
    from sklearn import metrics as m

    return float(m.mean_squared_error(c.y_true, c.y_pred))


@metric("rmse", task="regression", lower_is_better=True)
def rmse(c: Values) -> float:
    """Root mean squared error."""
    return float(np.sqrt(mse(c)))


@metric("r2", task="regression")
def r2(c: Values) -> float:
    """Coefficient of determination."""
    from sklearn import metrics as m

    return float(m.r2_score(c.y_true, c.y_pred))


@metric("mape", task="regression", lower_is_better=True)
def mape(c: Values) -> float:
    """Mean absolute percentage error."""
    from sklearn import metrics as m

    return float(m.mean_absolute_percentage_error(c.y_true, c.y_pred))
