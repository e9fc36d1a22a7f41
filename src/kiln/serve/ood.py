"""Out-of-distribution checks of each record against the bundle's training profile.

Four kinds of reason, each a short sentence naming the field:

- `range`: a number or pixel beyond the training min/max, a category never seen
  (the rules and words of `Bundle.flags`, from signature.json, computed once per batch);
- `zscore`: a number further than `ood_z` training standard deviations from the mean;
- `missing`: a null the bundle imputed (answered, but on an invented value);
- `low_confidence`: the top probability below the chosen quantile of the training
  confidence distribution (profile.json, first classification head).

The blueprint's `serve.ood_policy` then says what happens to a flagged record: answer and
flag it, abstain, or answer from a fallback bundle.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.bundle.fields import MAX_CATEGORIES
from kiln.bundle.profile import field_text

if TYPE_CHECKING:
    from kiln.bundle import Bundle

KINDS = ("range", "zscore", "missing", "low_confidence")


class OutOfDistribution:
    """The checks of one bundle, with its thresholds resolved once at load."""

    def __init__(self, bundle: Bundle, *, z: float, confidence_quantile: str) -> None:
        self.bundle = bundle
        self.z = z
        profile_inputs = bundle.profile.get("inputs", {})
        numeric = [f for f in bundle.fields if f["type"] == "numeric"]
        self.numeric = [f["name"] for f in numeric]
        self.order = {f["name"]: i for i, f in enumerate(bundle.fields)}

        def stat(field: Mapping[str, Any], key: str, source: str) -> float:
            value = (field if source == "field" else
                     profile_inputs.get(field["name"], {})).get(key)
            return np.nan if value is None else float(value)

        # one row of thresholds per numeric field: (fields,); NaN disables a check
        self.low = np.array([stat(f, "min", "field") for f in numeric])
        self.high = np.array([stat(f, "max", "field") for f in numeric])
        self.mean = np.array([stat(f, "mean", "profile") for f in numeric])
        std = np.array([stat(f, "std", "profile") for f in numeric])
        self.std = np.where(std > 0, std, np.nan)
        self.head: str | None = None
        self.min_confidence: float | None = None
        for out in bundle.outputs:
            if out["type"] == "classification":
                stats = bundle.profile.get("outputs", {}).get(out["name"], {})
                quantiles = stats.get("confidence", {}).get("quantiles", {})
                if confidence_quantile in quantiles:
                    self.head = out["name"]
                    self.min_confidence = float(quantiles[confidence_quantile])
                break

    def input_reasons(self, records: Sequence[Mapping[str, Any]]) -> list[list[tuple[str, str]]]:
        """Per record, (kind, reason) for every input check that fails, in field order.
        Numeric fields are checked together as one (records, fields) matrix; the `range`
        reasons are exactly `Bundle.flags`'s (a test holds them equal). Records must have
        passed `Bundle.transform`."""
        found: list[list[tuple[int, str, str]]] = [[] for _ in records]
        if self.numeric:
            self._numeric(records, found)
        for field in self.bundle.fields:
            name, kind = field["name"], field["type"]
            if kind == "numeric":
                continue
            values = [record.get(name) for record in records]
            where = self.order[name]
            for i, value in enumerate(values):
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    found[i].append((where, "missing", f"{name}: missing, imputed"))
            if kind in ("categorical", "binary"):
                _categories(field, where, values, found)
            elif kind == "image":
                _pixels(field, where, values, found)
        return [[(kind, text) for _, kind, text in sorted(reasons, key=lambda r: r[0])]
                for reasons in found]

    def _numeric(self, records: Sequence[Mapping[str, Any]],
                 found: list[list[tuple[int, str, str]]]) -> None:
        names = self.numeric
        try:
            matrix = np.array([[np.nan if r.get(n) is None else r[n] for n in names]
                               for r in records], np.float64)  # (records, numeric fields)
        except (TypeError, ValueError, OverflowError):  # a value the bundle let through
            matrix = np.array([[_number(r.get(n)) for n in names] for r in records],
                              np.float64)
        missing = np.isnan(matrix)
        with np.errstate(invalid="ignore"):
            below, above = matrix < self.low, matrix > self.high
            z = (matrix - self.mean) / self.std
            far = np.abs(z) > self.z
        for i, j in zip(*np.nonzero(missing | below | above | far), strict=True):
            name, where = names[j], self.order[names[j]]
            if missing[i, j]:
                found[i].append((where, "missing", f"{name}: missing, imputed"))
                continue
            if below[i, j]:
                found[i].append((where, "range", f"{name}: {matrix[i, j]:.4g} below the "
                                                 f"training minimum {self.low[j]:.4g}"))
            if above[i, j]:
                found[i].append((where, "range", f"{name}: {matrix[i, j]:.4g} above the "
                                                 f"training maximum {self.high[j]:.4g}"))
            if far[i, j]:
                found[i].append((where, "zscore", f"{name}: {z[i, j]:+.1f} standard "
                                                  f"deviations from the training mean"))

    def confidence_reason(self, answer: Mapping[str, Any]) -> tuple[str, str] | None:
        """('low_confidence', reason) when the first classification head is unsure."""
        if self.head is None or self.min_confidence is None:
            return None
        confidence = answer[self.head]["confidence"]
        if confidence < self.min_confidence:
            return ("low_confidence", f"{self.head}: confidence {confidence:.3f} below the "
                                      f"training's low quantile {self.min_confidence:.3f}")
        return None


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return math.nan


def _categories(field: Mapping[str, Any], where: int, values: list[Any],
                found: list[list[tuple[int, str, str]]]) -> None:
    known = set(field.get("categories") or [])
    if len(known) >= MAX_CATEGORIES:  # a cut vocabulary cannot say "unseen"
        return
    for i, value in enumerate(values):
        if value is not None and field_text(value) not in known:
            found[i].append((where, "range",
                             f"{field['name']}: {value!r} was not seen in training"))


def _pixels(field: Mapping[str, Any], where: int, values: list[Any],
            found: list[list[tuple[int, str, str]]]) -> None:
    low, high, name = field.get("min"), field.get("max"), field["name"]
    if low is None or high is None:
        return
    for i, value in enumerate(values):
        if value is None or isinstance(value, (str, bytes, bytearray)):
            continue
        pixels = np.asarray(value, np.float32)
        lo, hi = float(pixels.min()), float(pixels.max())
        if lo < low:
            found[i].append((where, "range", f"{name}: {lo:.4g} below the training minimum "
                                             f"{low:.4g}"))
        if hi > high:
            found[i].append((where, "range", f"{name}: {hi:.4g} above the training maximum "
                                             f"{high:.4g}"))
