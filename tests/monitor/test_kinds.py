"""Regression heads, text and image fields through `check`: MAE against a direct
computation, text length / OOV share and pixel statistics as monitored series."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from bundle_helpers import EXAMPLES, digits_frame, make_bundle, mixed_blueprint, mixed_frame

from kiln import load_blueprint, prediction_log
from kiln.bundle import load
from kiln.monitor import check


def _log(path: Path, bundle: Any, records: list[dict[str, Any]], truth: list[Any],
         value: Any) -> list[dict[str, Any]]:
    answers = bundle.predict(records)
    conn = prediction_log.connect(path)
    prediction_log.append(conn, [prediction_log.row(
        request_id=f"r{i}", record=0, model="m", version="1", inputs=rec, outputs=ans,
        prediction=value(ans), confidence=None, ood=[], latency_ms=1.0, ts=1000.0 + i)
        for i, (rec, ans) in enumerate(zip(records, answers, strict=True))])
    for i, t in enumerate(truth):
        prediction_log.add_feedback(conn, f"r{i}", [t])
    conn.close()
    return answers


def test_regression_head_and_text_field(tmp_path: Path) -> None:
    parts = make_bundle(mixed_blueprint(), mixed_frame(300), tmp_path / "mixed")
    bundle = load(parts.path)
    live = mixed_frame(200, seed=5)
    records = [{k: row[k] for k in ("a", "b", "city", "note")}
               for row in live.to_dict("records")]
    answers = _log(tmp_path / "log.db", bundle, records, live["price"].tolist(),
                   lambda a: str(a["price"]["value"]))
    report = check(bundle, tmp_path / "log.db")
    predicted = np.array([a["price"]["value"] for a in answers])
    mae = float(np.abs(predicted - live["price"].to_numpy()).mean())
    assert report.performance["mae"]["value"] == pytest.approx(mae, rel=1e-9)
    assert report.accuracy is None and report.labelled_rows == 200
    features = {r.feature for r in report.drift}
    assert {"a", "b", "city", "note.length", "note.oov_share", "prediction:price"} <= features
    assert all(r.exact for r in report.drift)


def test_image_field_pixel_statistics(tmp_path: Path) -> None:
    frame = digits_frame(240)
    parts = make_bundle(load_blueprint(EXAMPLES / "digits_cnn.yaml"), frame,
                        tmp_path / "digits")
    bundle = load(parts.path)
    records = parts.records  # the held-out rows, pixel arrays
    labels = [str(v) for v in frame["label"].iloc[180:].tolist()]
    _log(tmp_path / "calm.db", bundle, records, labels,
         lambda a: a["label"]["label"])
    calm = check(bundle, tmp_path / "calm.db")
    assert {"image.pixel_mean", "image.pixel_std", "prediction:label"} <= \
        {r.feature for r in calm.drift}
    bright = [{"image": (np.asarray(r["image"]) * 0.5 + 8).tolist()} for r in records]
    _log(tmp_path / "bright.db", bundle, bright, labels, lambda a: a["label"]["label"])
    moved = check(bundle, tmp_path / "bright.db")
    assert any(r.feature == "image.pixel_mean" and r.drifted for r in moved.drift)
    assert not any(r.feature == "image.pixel_mean" and r.drifted for r in calm.drift)
