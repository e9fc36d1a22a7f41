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
        self.moments: dict[str, tuple[float, float]] = {}
        for field in bundle.fields:
            stats = profile_inputs.get(field["name"], {})
            if field["type"] == "numeric" and stats.get("std"):
                self.moments[field["name"]] = (float(stats["mean"]), float(stats["std"]))
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
        """Per record, (kind, reason) for every input check that fails. One vectorised pass
        per field over the whole batch; the `range` reasons are exactly `Bundle.flags`'s
        (a test holds them equal). Records must have passed `Bundle.transform`."""
        out: list[list[tuple[str, str]]] = [[] for _ in records]
        for field in self.bundle.fields:
            name, kind = field["name"], field["type"]
            values = [record.get(name) for record in records]
            missing = [i for i, v in enumerate(values) if v is None
                       or (isinstance(v, float) and math.isnan(v))]
            for i in missing:
                out[i].append(("missing", f"{name}: missing, the model imputed it"))
            if kind == "numeric":
                self._numeric(field, values, out)
            elif kind in ("categorical", "binary"):
                _categories(field, values, out)
            elif kind == "image":
                _pixels(field, values, out)
        return out

    def _numeric(self, field: Mapping[str, Any], values: list[Any],
                 out: list[list[tuple[str, str]]]) -> None:
        name = field["name"]
        array = np.array([np.nan if v is None else float(v) for v in values], np.float64)
        _range(name, field.get("min"), field.get("max"), array, array, out)
        if name in self.moments:
            mean, std = self.moments[name]
            z = (array - mean) / std
            for i in np.flatnonzero(np.abs(z) > self.z):
                out[i].append(("zscore", f"{name}: {z[i]:+.1f} standard deviations from "
                                         f"the training mean"))

    def confidence_reason(self, answer: Mapping[str, Any]) -> tuple[str, str] | None:
        """('low_confidence', reason) when the first classification head is unsure."""
        if self.head is None or self.min_confidence is None:
            return None
        confidence = answer[self.head]["confidence"]
        if confidence < self.min_confidence:
            return ("low_confidence", f"{self.head}: confidence {confidence:.3f} below the "
                                      f"training's low quantile {self.min_confidence:.3f}")
        return None


def _range(name: str, low: float | None, high: float | None, lows: np.ndarray,
           highs: np.ndarray, out: list[list[tuple[str, str]]]) -> None:
    """`Bundle.flags`'s min/max reasons, for per-row lowest and highest values."""
    if low is None or high is None:
        return
    with np.errstate(invalid="ignore"):
        below, above = lows < low, highs > high
    for i in np.flatnonzero(below | above):
        if below[i]:
            out[i].append(("range", f"{name}: {lows[i]:.4g} below the training minimum "
                                    f"{low:.4g}"))
        if above[i]:
            out[i].append(("range", f"{name}: {highs[i]:.4g} above the training maximum "
                                    f"{high:.4g}"))


def _categories(field: Mapping[str, Any], values: list[Any],
                out: list[list[tuple[str, str]]]) -> None:
    known = set(field.get("categories") or [])
    if len(known) >= MAX_CATEGORIES:  # a cut vocabulary cannot say "unseen"
        return
    for i, value in enumerate(values):
        if value is not None and field_text(value) not in known:
            out[i].append(("range", f"{field['name']}: {value!r} was not seen in training"))


def _pixels(field: Mapping[str, Any], values: list[Any],
            out: list[list[tuple[str, str]]]) -> None:
    rows = [i for i, v in enumerate(values)
            if v is not None and not isinstance(v, (str, bytes, bytearray))]
    if not rows:
        return
    arrays = [np.asarray(values[i], np.float32) for i in rows]
    lows = np.full(len(values), np.nan)
    highs = np.full(len(values), np.nan)
    lows[rows] = [a.min() for a in arrays]
    highs[rows] = [a.max() for a in arrays]
    _range(field["name"], field.get("min"), field.get("max"), lows, highs, out)
