"""Bundles of tiny untrained models on real data: built in seconds, no training needed.

A uniquely named module (not conftest) so tests/bundle and tests/registry can import it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kiln import build_model, load_blueprint
from kiln.blueprint import Blueprint

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@dataclass
class Parts:
    """A bundle with what made it: the PyTorch model, the preprocessor and raw test rows."""

    path: Path
    model: Any
    preprocessor: Any
    signature: Any
    records: list[dict[str, Any]]


def digits_frame(rows: int = 240) -> Any:
    from kiln.data.sources import load_sklearn

    return load_sklearn("digits").frame.iloc[:rows].reset_index(drop=True)


def mixed_frame(rows: int = 200, seed: int = 0) -> Any:
    import pandas as pd

    rng = np.random.default_rng(seed)
    a = rng.normal(5.0, 2.0, rows)
    city = rng.choice(["paris", "lyon", "nice"], rows)
    words = np.array(["red", "blue", "fast", "slow", "big"])
    note = [" ".join(rng.choice(words, 3)) for _ in range(rows)]
    return pd.DataFrame({"a": a, "b": rng.uniform(0, 1, rows), "city": city, "note": note,
                         "price": 3 * a + rng.normal(0, 0.1, rows),
                         "kind": rng.choice(["x", "y", "z"], rows)})


def mixed_blueprint() -> Blueprint:
    return load_blueprint({
        "name": "mixed",
        "task": {"targets": [{"name": "price", "type": "regression"},
                             {"name": "kind", "type": "classification"}]},
        "data": {"source": "table.csv", "features": [
            {"name": "a", "type": "numeric"}, {"name": "b", "type": "numeric"},
            {"name": "city", "type": "categorical"},
            {"name": "note", "type": "text", "vocab_size": 50, "max_length": 8}]},
        "architecture": {"encoders": {"note": [{"embedding": {"dim": 8}}, "seq_pool"]},
                         "trunk": [{"linear": {"units": 16}}, "relu"]},
    })


def make_bundle(bp: Blueprint, frame: Any, destination: Path, *, zip: bool = False,
                train_rows: int | None = None) -> Parts:
    """Fit preprocessing on the first rows, build the model, export it, write the bundle."""
    from kiln.blueprint import dump_blueprint
    from kiln.data.preprocessing import Preprocessor
    from kiln.export import write_bundle
    from kiln.model.onnx_export import export_onnx
    from kiln.model.signature import Signature, inputs_from_features, outputs_from_task

    features = list(bp.data.features or [])
    train_rows = train_rows or int(len(frame) * 0.75)
    train, test = frame.iloc[:train_rows], frame.iloc[train_rows:]
    names = [f.name for f in features] + [t.name for t in bp.task.targets]
    columns = {n: train[n].tolist() for n in names}  # plain lists, as JSON clients send
    pre = Preprocessor(features, bp.task.targets).fit(columns)
    signature = Signature(inputs_from_features(features, pre.vocab_sizes),
                          outputs_from_task(bp.task, pre.class_labels))
    model = build_model(bp, signature, seed=0).eval()
    onnx_path = export_onnx(model, signature, destination.parent / f"{destination.name}.onnx")
    write_bundle(destination, model_onnx=onnx_path.read_bytes(), preprocessor=pre,
                 signature=signature, features=features,
                 train_columns={f.name: columns[f.name] for f in features},
                 train_inputs=pre.transform(columns), metrics={"test": {"accuracy": 0.5}},
                 blueprint_yaml=dump_blueprint(bp), source_run="run-test", variant="fp32",
                 zip=zip)
    names = [f.name for f in features]
    records = [{n: _plain(row[n]) for n in names} for _, row in test.iterrows()]
    return Parts(destination.with_name(destination.name + ".zip") if zip else destination,
                 model, pre, signature, records)


def _plain(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value.item() if isinstance(value, np.generic) else value


def torch_predict(parts: Parts, columns: dict[str, list[Any]]) -> dict[str, np.ndarray]:
    """What the PyTorch model answers on raw columns: decoded outputs per head."""
    import torch

    inputs = parts.preprocessor.transform(columns)
    tensors = [torch.from_numpy(np.ascontiguousarray(inputs[s.name]))
               for s in parts.signature.inputs]
    with torch.inference_mode():
        raw = parts.model(*tensors)
    return parts.preprocessor.decode({o.name: r.numpy()
                                      for o, r in zip(parts.signature.outputs, raw, strict=True)})
