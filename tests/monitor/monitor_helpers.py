"""A small trained classifier bundle and prediction logs written through
`kiln.prediction_log`, as `kiln serve` writes them (no server needed).

A uniquely named module (not conftest) so that benchmarks can import it too."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bundle"))

from kiln import build_model, load_blueprint, prediction_log
from kiln.blueprint import Blueprint

CITIES = np.array(["paris", "lyon", "nice"])
WORDS = np.array(["red", "blue", "fast", "slow", "big", "small"])


def population(rows: int, seed: int, *, shift: float = 0.0, city_p: Any = None,
               rho: float = 0.0) -> Any:
    """Rows of the synthetic world: x1, x2 standard normal (correlation `rho`; x1 moved by
    `shift` standard deviations), a city, a short note, and the class `kind`."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    x1 = rng.normal(size=rows)
    x2 = rho * x1 + np.sqrt(1 - rho**2) * rng.normal(size=rows)
    city = rng.choice(CITIES, rows, p=city_p if city_p is not None else [0.5, 0.3, 0.2])
    note = [" ".join(words) for words in rng.choice(WORDS, (rows, 3)).tolist()]
    score = 1.5 * x1 - x2 + (city == "paris") * 0.8 + rng.logistic(size=rows) * 0.7
    kind = np.where(score > 1.0, "high", np.where(score < -0.5, "low", "mid"))
    return pd.DataFrame({"x1": x1 + shift, "x2": x2, "city": city, "note": note,
                         "kind": kind})


def shop_blueprint() -> Blueprint:
    return load_blueprint({
        "name": "shop",
        "task": {"targets": [{"name": "kind", "type": "classification"}]},
        "data": {"source": "table.csv", "features": [
            {"name": "x1", "type": "numeric"}, {"name": "x2", "type": "numeric"},
            {"name": "city", "type": "categorical"},
            {"name": "note", "type": "text", "vocab_size": 8, "max_length": 4}]},
        "architecture": {"encoders": {"note": [{"embedding": {"dim": 4}}, "seq_pool"]},
                         "trunk": [{"linear": {"units": 16}}, "relu"]},
        "monitor": {"accuracy_floor": 0.6, "estimated_accuracy_floor": 0.6},
    })


def make_shop_bundle(destination: Path, *, train_rows: int = 3000, val_rows: int = 3000,
                     steps: int = 300) -> Path:
    """Train the shop classifier briefly (full-batch Adam) and write its bundle, with the
    confidence calibrated on a validation split of the same world."""
    import torch

    from kiln.blueprint import dump_blueprint
    from kiln.data.preprocessing import Preprocessor
    from kiln.export import write_bundle
    from kiln.model.onnx_export import export_onnx
    from kiln.model.signature import Signature, inputs_from_features, outputs_from_task

    bp = shop_blueprint()
    features = list(bp.data.features or [])
    names = [f.name for f in features] + ["kind"]
    train, val = population(train_rows, 1), population(val_rows, 2)
    columns = {n: train[n].tolist() for n in names}
    val_columns = {n: val[n].tolist() for n in names}
    pre = Preprocessor(features, bp.task.targets).fit(columns)
    signature = Signature(inputs_from_features(features, pre.vocab_sizes),
                          outputs_from_task(bp.task, pre.class_labels))
    torch.manual_seed(0)
    model = build_model(bp, signature, seed=0)
    inputs = pre.transform(columns)
    tensors = [torch.from_numpy(np.ascontiguousarray(inputs[s.name]))
               for s in signature.inputs]
    target = torch.from_numpy(pre.transform_targets(columns)["kind"])
    optimiser = torch.optim.Adam(model.parameters(), lr=0.03)
    model.train()
    for _ in range(steps):
        optimiser.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(*tensors)[0], target)
        loss.backward()
        optimiser.step()
    model.eval()
    onnx_path = export_onnx(model, signature, destination.parent / f"{destination.name}.onnx")
    write_bundle(destination, model_onnx=onnx_path.read_bytes(), preprocessor=pre,
                 signature=signature, features=features,
                 train_columns={f.name: columns[f.name] for f in features},
                 train_inputs=inputs, metrics={"test": {"accuracy": 0.8}},
                 blueprint_yaml=dump_blueprint(bp), source_run="run-shop", variant="fp32",
                 calibration_split=(pre.transform(val_columns),
                                    pre.transform_targets(val_columns)))
    return destination


def write_log(path: Path, bundle: Any, frame: Any, *, start: float = 1_700_000_000.0,
              step: float = 1.0, labels: bool = True, prefix: str = "r",
              batch: int = 1) -> list[dict[str, Any]]:
    """Answer every row of `frame` with `bundle` and log it (and its true label as
    feedback, when `labels`); one request per `batch` rows, `step` seconds apart."""
    names = [f["name"] for f in bundle.fields]
    records = [{n: (v.item() if hasattr(v, "item") else v) for n, v in zip(names, row,
                                                                          strict=True)}
               for row in frame[names].itertuples(index=False)]
    answers = bundle.predict(records)
    flags = bundle.flags(records)
    head = bundle.outputs[0]["name"]
    rows = []
    for i, (record, answer, flag) in enumerate(zip(records, answers, flags, strict=True)):
        rows.append(prediction_log.row(
            request_id=f"{prefix}{i // batch}", record=i % batch, model="shop", version="1",
            inputs=record, outputs=answer, prediction=answer[head]["label"],
            confidence=answer[head]["confidence"], ood=flag, latency_ms=2.0 + (i % 7),
            ts=start + i * step))
    conn = prediction_log.connect(path)
    try:
        prediction_log.append(conn, rows)
        if labels and "kind" in frame:
            truth = frame["kind"].tolist()
            for r in range(0, len(records), batch):
                prediction_log.add_feedback(conn, f"{prefix}{r // batch}",
                                            truth[r:r + batch], ts=start + r * step + 60)
    finally:
        conn.close()
    return [{"record": r, "answer": a} for r, a in zip(records, answers, strict=True)]
