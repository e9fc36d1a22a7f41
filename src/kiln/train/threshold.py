"""The decision threshold of a binary classifier, chosen on the validation split.

Every distinct validation probability of the positive class is a candidate threshold
(a row is positive when p ≥ t). The rule of `task.threshold` picks one:

    maximize M subject_to {C: v}   the candidate with the highest M among those whose C ≥ v
                                   on validation (ties: the higher threshold, fewer
                                   positives); when none meets the bounds, 0.5 is kept and
                                   the result says `met: false`
    costs {false_positive: a, false_negative: b}
                                   the candidate with the lowest a·FP + b·FN

The result (threshold, rule, and the rates it gives on validation and test) goes into the
run's metrics.json under "threshold" and, at export, into the output's entry of the
bundle's signature.json, where `Bundle.predict` applies it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.errors import DataError

if TYPE_CHECKING:
    from kiln.blueprint.threshold_spec import ThresholdSpec

DEFAULT_THRESHOLD = 0.5


def rates(p: np.ndarray, truth: np.ndarray, threshold: float) -> dict[str, float]:
    """Counting figures of `p ≥ threshold` against 0/1 truth."""
    predicted = p >= threshold
    tp = int(np.sum(predicted & truth))
    fp = int(np.sum(predicted & ~truth))
    fn = int(np.sum(~predicted & truth))
    tn = int(np.sum(~predicted & ~truth))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": precision, "recall": recall,
            "specificity": tn / (tn + fp) if tn + fp else 0.0,
            "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
            "accuracy": (tp + tn) / max(len(p), 1),
            "false_positives": fp, "false_negatives": fn}


def choose(spec: ThresholdSpec, p: np.ndarray, truth: np.ndarray) -> tuple[float, bool]:
    """(threshold, whether the rule's bounds were met) on validation probabilities."""
    candidates = np.unique(np.concatenate([p, [DEFAULT_THRESHOLD]]))[::-1]  # high → low
    figures = [rates(p, truth, float(t)) for t in candidates]
    if spec.costs is not None:
        costs = [spec.costs.false_positive * f["false_positives"]
                 + spec.costs.false_negative * f["false_negatives"] for f in figures]
        return float(candidates[int(np.argmin(costs))]), True  # first minimum: highest t
    assert spec.maximize is not None
    best, best_value = None, -1.0
    for t, f in zip(candidates, figures, strict=True):
        meets = all(f[name] >= bound for name, bound in spec.subject_to.items())
        if meets and f[spec.maximize] > best_value:
            best, best_value = float(t), f[spec.maximize]
    if best is None:
        return DEFAULT_THRESHOLD, False
    return best, True


def select_threshold(spec: ThresholdSpec, labels: list[str], val: tuple[np.ndarray, np.ndarray],
                     test: tuple[np.ndarray, np.ndarray] | None) -> dict[str, Any]:
    """The "threshold" record of metrics.json. `val` / `test`: (probabilities (N, 2), class
    ids (N,)). Raises `DataError` unless the target has exactly two classes."""
    if len(labels) != 2:
        raise DataError(f"task.threshold: the target has {len(labels)} classes — a decision "
                        f"threshold needs exactly two")
    positive = spec.positive if spec.positive is not None else sorted(labels)[1]
    if positive not in labels:
        raise DataError(f"task.threshold.positive: {positive!r} is not a class of the target "
                        f"(classes: {', '.join(labels)})")
    column = labels.index(positive)
    p_val, truth_val = val[0][:, column], val[1] == column
    threshold, met = choose(spec, p_val, truth_val)
    record: dict[str, Any] = {"positive": positive, "negative": labels[1 - column],
                              "value": threshold, "rule": spec.describe(), "met": met,
                              "val": rates(p_val, truth_val, threshold)}
    if test is not None and len(test[1]):
        record["test"] = rates(test[0][:, column], test[1] == column, threshold)
    return record


def fit_threshold(model: Any, data: Any, spec: ThresholdSpec,
                  val: tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None = None
                  ) -> dict[str, Any]:
    """Choose the threshold for a trained model on its prepared data (`PreparedData`):
    on `val` (raw outputs, targets) when given — a bagged run's out-of-fold outputs —
    else on the validation split (the training split without one)."""
    from kiln.train.inference import predict

    out = data.signature.outputs[0]
    labels = [str(label) for label in (out.labels or range(out.size))]

    def probabilities(split: Any) -> tuple[np.ndarray, np.ndarray]:
        decoded = data.preprocessor.decode(predict(model, split.inputs))
        return np.asarray(decoded[out.name]), np.asarray(split.targets[out.name])

    test = probabilities(data.test) if len(data.test) else None
    if val is not None:
        raw, targets = val
        chosen_on = (np.asarray(data.preprocessor.decode(raw)[out.name]),
                     np.asarray(targets[out.name]))
    else:
        chosen_on = probabilities(data.val if len(data.val) else data.train)
    return select_threshold(spec, labels, chosen_on, test)
