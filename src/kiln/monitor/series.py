"""The monitored series of a bundle: each input field (text and image fields through their
summary statistics), the first head's prediction and confidence, with the reference the
bundle's profile.json holds for each — raw sample rows when the bundle has them
(`profile["sample"]`, exact tests), else histograms and category shares (binned)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kiln.monitor.drift import Series
from kiln.monitor.registry import Reference
from kiln.monitor.window import Window, text_statistics


def build_series(profile: Mapping[str, Any], fields: Sequence[Mapping[str, Any]],
                 outputs: Sequence[Mapping[str, Any]], window: Window,
                 vocab: Mapping[str, Sequence[str]] | None = None) -> list[Series]:
    """Every series of `window` against `profile`; `vocab`: text field → vocabulary."""
    sample = profile.get("sample") or {}
    rows = int(sample.get("rows", 0))
    out: list[Series] = []
    for f in fields:
        name, kind = f["name"], f["type"]
        ref_profile = profile["inputs"].get(name, {})
        raw = (sample.get("fields") or {}).get(name)
        if kind == "numeric":
            out.append(Series(name, "numeric", _numeric_ref(ref_profile, raw),
                              window.columns[name]))
        elif kind in ("categorical", "binary"):
            known = frozenset(f.get("categories") or ()) or None
            out.append(Series(name, "categorical", _categorical_ref(ref_profile, raw, known),
                              window.columns[name]))
        elif kind == "text":
            out.extend(_text_series(name, ref_profile, raw, window,
                                    (vocab or {}).get(name)))
        else:
            for stat in ("pixel_mean", "pixel_std"):
                ref = _numeric_ref({}, raw[stat] if raw else None) if raw else None
                if ref is not None:  # the profile's statistics are of preprocessed pixels
                    out.append(Series(f"{name}.{stat}", "numeric", ref,
                                      window.columns[f"{name}.{stat}"]))
    if outputs:
        out.extend(_output_series(outputs[0], profile, sample, rows, window))
    return out


def _numeric_ref(ref_profile: Mapping[str, Any], raw: Sequence[Any] | None) -> Reference:
    hist = ref_profile.get("histogram") or {}
    values = None if raw is None else np.array([np.nan if v is None else v for v in raw],
                                               dtype=np.float64)
    return Reference("numeric", values=values,
                     edges=np.asarray(hist["edges"], float) if hist else None,
                     counts=np.asarray(hist["counts"], float) if hist else None,
                     rows=int(ref_profile.get("count", 0)))


def _categorical_ref(ref_profile: Mapping[str, Any], raw: Sequence[Any] | None,
                     known: frozenset[str] | None) -> Reference:
    values = None if raw is None else np.array(list(raw), dtype=object)
    return Reference("categorical", values=values,
                     shares=dict(ref_profile.get("frequencies") or {}),
                     rows=int(ref_profile.get("count", 0)), known=known)


_REFERENCE_TEXT: dict[int, tuple[Any, Any, tuple[np.ndarray, np.ndarray]]] = {}


def _reference_text(raw: Sequence[Any], vocab: Sequence[str] | None,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """text_statistics of a bundle's reference sample, computed once per loaded profile."""
    hit = _REFERENCE_TEXT.get(id(raw))
    if hit is not None and hit[0] is raw and hit[1] is vocab:
        return hit[2]
    stats = text_statistics(list(raw), vocab)
    if len(_REFERENCE_TEXT) > 64:
        _REFERENCE_TEXT.clear()
    _REFERENCE_TEXT[id(raw)] = (raw, vocab, stats)
    return stats


def _text_series(name: str, ref_profile: Mapping[str, Any], raw: Sequence[Any] | None,
                 window: Window, vocab: Sequence[str] | None) -> list[Series]:
    live_len = window.columns[f"{name}.length"]
    if raw is None:
        return [Series(f"{name}.length", "numeric",
                       _numeric_ref(ref_profile.get("tokens") or {}, None), live_len)]
    ref_len, ref_oov = _reference_text(raw, vocab)
    out = [Series(f"{name}.length", "numeric", Reference("numeric", values=ref_len), live_len)]
    if vocab:
        out.append(Series(f"{name}.oov_share", "numeric",
                          Reference("numeric", values=ref_oov),
                          window.columns[f"{name}.oov_share"]))
    return out


def _output_series(head: Mapping[str, Any], profile: Mapping[str, Any],
                   sample: Mapping[str, Any], rows: int, window: Window) -> list[Series]:
    name = head["name"]
    ref_profile = profile["outputs"].get(name, {})
    raw = (sample.get("outputs") or {}).get(name) or {}
    if head["type"] == "classification":
        labels = frozenset(head.get("labels") or ref_profile.get("class_frequencies") or ())
        prediction = Reference(
            "categorical", values=None if "prediction" not in raw
            else np.array(raw["prediction"], dtype=object),
            shares=dict(ref_profile.get("class_frequencies") or {}),
            rows=int(profile.get("rows", rows)), known=labels or None)
        confidence = _numeric_ref(ref_profile.get("confidence") or {}, raw.get("confidence"))
        return [Series(f"prediction:{name}", "categorical", prediction, window.prediction,
                       "prediction"),
                Series(f"confidence:{name}", "numeric", confidence, window.confidence,
                       "confidence")]
    if head["type"] == "regression":
        values = (ref_profile.get("values") or [{}])[0]
        live = np.array([_number(v) for v in window.prediction], dtype=np.float64)
        return [Series(f"prediction:{name}", "numeric",
                       _numeric_ref(values, raw.get("prediction")), live, "prediction")]
    return []


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")
