"""Out-of-distribution checks of each record against the bundle's training profile.

Four kinds of reason, each a short sentence naming the field:

- `range`: a number or pixel beyond the training min/max, a category never seen
  (`Bundle.flags`, from signature.json);
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
        self.names = [f["name"] for f in bundle.fields]
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
        """Per record, (kind, reason) for every input check that fails."""
        ranges = self.bundle.flags(records)
        out: list[list[tuple[str, str]]] = []
        for record, flags in zip(records, ranges, strict=True):
            reasons = [("range", flag) for flag in flags]
            for name in self.names:
                value = record.get(name)
                if value is None or (isinstance(value, float) and math.isnan(value)):
                    reasons.append(("missing", f"{name}: missing, the model imputed it"))
                elif name in self.moments and isinstance(value, (int, float)):
                    mean, std = self.moments[name]
                    z = (float(value) - mean) / std
                    if abs(z) > self.z:
                        reasons.append(("zscore", f"{name}: {z:+.1f} standard deviations "
                                                  f"from the training mean"))
            out.append(reasons)
        return out

    def confidence_reason(self, answer: Mapping[str, Any]) -> tuple[str, str] | None:
        """('low_confidence', reason) when the first classification head is unsure."""
        if self.head is None or self.min_confidence is None:
            return None
        confidence = answer[self.head]["confidence"]
        if confidence < self.min_confidence:
            return ("low_confidence", f"{self.head}: confidence {confidence:.3f} below the "
                                      f"training's low quantile {self.min_confidence:.3f}")
        return None
