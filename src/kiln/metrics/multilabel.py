"""Multilabel metrics (independent probabilities per label), through scikit-learn."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from kiln.metrics.registry import metric


@dataclass
class Labels:
    """y_true: (N, K) 0/1; proba: (N, K) independent probabilities."""

    y_true: np.ndarray
    proba: np.ndarray

    @cached_property
    def pred(self) -> np.ndarray:
        return (self.proba >= 0.5).astype(int)


@metric("f1_micro", task="multilabel")
def f1_micro(c: Labels) -> float:
    """F1 over every (row, label) decision."""
    from sklearn import metrics as m

    return float(m.f1_score(c.y_true, c.pred, average="micro", zero_division=0))


@metric("f1_macro", task="multilabel")
def f1_macro(c: Labels) -> float:
    """F1 per label, averaged."""
    from sklearn import metrics as m

    return float(m.f1_score(c.y_true, c.pred, average="macro", zero_division=0))


@metric("hamming_loss", task="multilabel", lower_is_better=True)
def hamming_loss(c: Labels) -> float:
    """Share of wrong (row, label) decisions."""
    from sklearn import metrics as m

    return float(m.hamming_loss(c.y_true, c.pred))


@metric("subset_accuracy", task="multilabel")
def subset_accuracy(c: Labels) -> float:
    """Share of rows with every label right."""
    from sklearn import metrics as m

    return float(m.accuracy_score(c.y_true, c.pred))


@metric("roc_auc", task="multilabel")
def roc_auc(c: Labels) -> float:
    """ROC-AUC per label, macro-averaged; NaN when a label has one class only."""
    from sklearn import metrics as m

    try:
        return float(m.roc_auc_score(c.y_true, c.proba, average="macro"))
    except ValueError:
        return float("nan")
