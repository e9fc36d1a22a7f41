"""Reference distributions on the training split, for drift and out-of-distribution checks.

`profile.json` holds, per input field, a histogram and quantiles (numeric, text length,
image pixel statistics) or category frequencies; per output, class frequencies or value
quantiles; and the distribution of the confidence (the largest class probability). The
monitor compares live traffic with these; the service flags inputs far outside them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from kiln.data.transforms import mean_std

QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)
BINS = 20
TOP_CATEGORIES = 100  # the rest are summed under "__other__"
SAMPLE_ROWS = 2000  # raw training rows kept for exact two-sample drift tests (seeded sample)
TEXT_CHARS = 2000  # a sampled text longer than this is cut (length and OOV share stay honest)


def numeric_profile(values: np.ndarray, *, bins: int = BINS,
                    edges: Sequence[float] | np.ndarray | None = None) -> dict[str, Any]:
    """count, missing, mean, std, quantiles and a histogram of `values` (NaN = missing).

    `edges` fixes the histogram bins (confidence uses 0..1); else `bins` equal bins between
    the smallest and largest value.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    present = values[~np.isnan(values)]
    out: dict[str, Any] = {"type": "numeric", "count": int(present.size),
                           "missing": int(values.size - present.size)}
    if present.size == 0:
        return out
    qs = np.quantile(present, QUANTILES)
    hist_edges = np.asarray(edges, dtype=np.float64) if edges is not None else \
        np.linspace(present.min(), present.max() if present.max() > present.min()
                    else present.min() + 1.0, bins + 1)
    counts, hist_edges = np.histogram(np.clip(present, hist_edges[0], hist_edges[-1]),
                                      bins=hist_edges)
    mean, std = mean_std(present)  # without overflow for huge magnitudes
    out.update(mean=float(mean[0]), std=float(std[0]),
               quantiles={f"{q:g}": float(v) for q, v in zip(QUANTILES, qs, strict=True)},
               histogram={"edges": [float(e) for e in hist_edges],
                          "counts": [int(c) for c in counts]})
    return out


def categorical_profile(values: Sequence[Any]) -> dict[str, Any]:
    """Share of each category (the most frequent `TOP_CATEGORIES`; the rest as __other__)."""
    present = [str(v) for v in values if v is not None]
    counts = Counter(present)
    total = max(len(present), 1)
    top = counts.most_common(TOP_CATEGORIES)
    frequencies = {k: c / total for k, c in top}
    rest = len(present) - sum(c for _, c in top)
    if rest:
        frequencies["__other__"] = rest / total
    return {"type": "categorical", "count": len(present),
            "missing": len(values) - len(present), "frequencies": frequencies}


def field_profile(field: Mapping[str, Any], values: Sequence[Any],
                  model_input: np.ndarray | None = None) -> dict[str, Any]:
    """The reference distribution of one raw field, by its type."""
    kind = field["type"]
    if kind == "numeric":
        return numeric_profile(np.array([np.nan if v is None else v for v in values],
                                        dtype=np.float64))
    if kind in ("categorical", "binary"):
        return categorical_profile([None if v is None else field_text(v) for v in values])
    if kind == "text":
        lengths = np.array([len(str(v).split()) for v in values if v is not None])
        return {"type": "text", "tokens": numeric_profile(lengths)}
    # image: the preprocessed pixels (what the model sees), per image mean and spread
    if model_input is None or model_input.size == 0:
        return {"type": "image"}
    flat = model_input.reshape(len(model_input), -1)  # (N, C*H*W)
    return {"type": "image", "pixel_mean": numeric_profile(flat.mean(axis=1)),
            "pixel_std": numeric_profile(flat.std(axis=1))}


def output_profile(output: Mapping[str, Any], decoded: np.ndarray,
                   labels: Sequence[str] | None) -> dict[str, Any]:
    """Reference distribution of one head's decoded outputs (probabilities or values)."""
    kind = output["type"]
    decoded = np.asarray(decoded, dtype=np.float64)
    if kind == "classification":
        names = list(labels) if labels else [str(i) for i in range(decoded.shape[1])]
        predicted = decoded.argmax(axis=1)
        counts = np.bincount(predicted, minlength=len(names))
        edges = np.linspace(0.0, 1.0, BINS + 1)
        return {"type": kind,
                "class_frequencies": {n: float(c) / max(len(predicted), 1)
                                      for n, c in zip(names, counts, strict=True)},
                "confidence": numeric_profile(decoded.max(axis=1), edges=edges)}
    if kind == "multilabel":
        names = list(labels) if labels else [str(i) for i in range(decoded.shape[1])]
        return {"type": kind,
                "label_frequencies": {n: float(v) for n, v in
                                      zip(names, (decoded > 0.5).mean(axis=0), strict=True)},
                "confidence": numeric_profile(np.abs(decoded - 0.5).mean(axis=1) * 2,
                                              edges=np.linspace(0.0, 1.0, BINS + 1))}
    values = decoded.reshape(len(decoded), -1)
    return {"type": kind, "values": [numeric_profile(values[:, j])
                                     for j in range(values.shape[1])]}


def field_text(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value)).lower()
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def reference_sample(fields: Sequence[Mapping[str, Any]],
                     columns: Mapping[str, Sequence[Any]], outputs: Sequence[Mapping[str, Any]],
                     decoded: Mapping[str, np.ndarray], *,
                     rows: int = SAMPLE_ROWS) -> dict[str, Any]:
    """A seeded sample of raw training rows, aligned across fields and model outputs, for the
    monitor's exact tests (KS, the domain classifier). Images are kept as their per-row pixel
    mean and spread, texts cut at `TEXT_CHARS`; outputs as predicted class (or value) and
    confidence. `columns` and `decoded` must hold the same rows in the same order."""
    n = len(next(iter(columns.values()))) if columns else 0
    take = np.arange(n) if n <= rows else \
        np.sort(np.random.default_rng(1).choice(n, size=rows, replace=False))
    sample: dict[str, Any] = {}
    for f in fields:
        values = [columns[f["name"]][i] for i in take]
        sample[f["name"]] = _sample_values(f["type"], values)
    heads: dict[str, Any] = {}
    for o in outputs:
        out = np.asarray(decoded[o["name"]], dtype=np.float64)
        if len(out) != n:
            return {"rows": int(take.size), "fields": sample, "outputs": {}}
        out = out[take].reshape(len(take), -1)
        if o["type"] == "classification":
            labels = o.get("labels") or [str(i) for i in range(out.shape[1])]
            heads[o["name"]] = {"prediction": [labels[i] for i in out.argmax(axis=1)],
                                "confidence": [round(float(c), 6) for c in out.max(axis=1)]}
        elif o["type"] == "regression":
            heads[o["name"]] = {"prediction": [float(v) for v in out[:, 0]]}
    return {"rows": int(take.size), "fields": sample, "outputs": heads}


def _sample_values(kind: str, values: Sequence[Any]) -> Any:
    if kind == "numeric":
        return [None if v is None or v != v else float(v) for v in values]
    if kind in ("categorical", "binary"):
        return [None if v is None else field_text(v) for v in values]
    if kind == "text":
        return [None if v is None else str(v)[:TEXT_CHARS] for v in values]
    pixels = [np.asarray(v, dtype=np.float64) if not isinstance(v, (str, bytes)) else None
              for v in values]
    return {"pixel_mean": [None if p is None else float(p.mean()) for p in pixels],
            "pixel_std": [None if p is None else float(p.std()) for p in pixels]}


def calibration_table(probabilities: np.ndarray, truth: np.ndarray) -> dict[str, Any]:
    """Rows and correct answers per confidence bin on a held-out split: what confidence-based
    accuracy estimation (`kiln monitor`) maps a live confidence through."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(truth).ravel()
    edges = np.linspace(0.0, 1.0, BINS + 1)
    index = np.clip(np.searchsorted(edges, confidence, side="right") - 1, 0, BINS - 1)
    return {"split": "val", "edges": [float(e) for e in edges],
            "count": np.bincount(index, minlength=BINS).astype(int).tolist(),
            "correct": np.bincount(index, weights=correct, minlength=BINS).astype(int).tolist()}


def build_profile(fields: Sequence[Mapping[str, Any]], columns: Mapping[str, Sequence[Any]],
                  inputs: Mapping[str, np.ndarray], outputs: Sequence[Mapping[str, Any]],
                  decoded: Mapping[str, np.ndarray],
                  calibration: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None,
                  ) -> dict[str, Any]:
    """The whole profile.json: training-split distributions of fields, outputs, confidence.

    `columns`: raw training values per field; `inputs`: preprocessed model inputs;
    `decoded`: the bundle model's decoded outputs on those inputs, per head;
    `calibration`: per classification head, (probabilities, true class ids) on the
    validation split.
    """
    rows = len(next(iter(inputs.values()))) if inputs else 0
    profile: dict[str, Any] = {
        "split": "train",
        "rows": rows,
        "inputs": {f["name"]: field_profile(f, columns[f["name"]], inputs.get(f["input"]))
                   for f in fields},
        "outputs": {o["name"]: output_profile(o, decoded[o["name"]], o.get("labels"))
                    for o in outputs},
        "sample": reference_sample(fields, columns, outputs, decoded),
    }
    for head, (probabilities, truth) in (calibration or {}).items():
        profile["outputs"][head]["calibration"] = calibration_table(probabilities, truth)
    return profile
