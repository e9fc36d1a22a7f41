"""The MLflow pyfunc face of a bundle, logged as "models from code": nothing is pickled.

MLflow copies this file into the model version and runs it on `mlflow.pyfunc.load_model`;
`load_context` loads (and so verifies) the bundle stored as the version's `bundle`
artifact. `predict` takes a DataFrame with one column per input field and answers one row
per record: for a classification output `out` the columns `out` (label),
`out_confidence` and `out_p_<label>`; for regression `out` (value; `out_0`, `out_1`, ...
for several columns); for multilabel `out` (list of labels) and `out_p_<label>`.
"""

from __future__ import annotations

from typing import Any

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class KilnBundleModel(PythonModel):
    """Preprocessing + ONNX Runtime + decoding, from the bundle artifact."""

    def load_context(self, context: Any) -> None:
        from kiln.bundle import load

        self.bundle = load(context.artifacts["bundle"])

    # MLflow reads these hints at run time (so pandas is imported at module level): a
    # DataFrame hint means "no schema to enforce", which is what a bundle wants — the
    # bundle checks records against its own signature with clearer messages.
    def predict(self, context: Any, model_input: pd.DataFrame,
                params: dict[str, Any] | None = None) -> pd.DataFrame:
        if isinstance(model_input, pd.DataFrame):
            records = model_input.to_dict(orient="records")
        elif isinstance(model_input, dict):
            records = [model_input]
        else:
            records = list(model_input)
        answers = self.bundle.predict(records)
        return pd.DataFrame([flatten(answer) for answer in answers])


def flatten(answer: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One `Bundle.predict` answer → flat DataFrame columns."""
    row: dict[str, Any] = {}
    for name, out in answer.items():
        if "label" in out:
            row[name] = out["label"]
            row[f"{name}_confidence"] = out["confidence"]
        elif "labels" in out:
            row[name] = out["labels"]
        elif isinstance(out["value"], list):
            row.update({f"{name}_{j}": v for j, v in enumerate(out["value"])})
        else:
            row[name] = out["value"]
        for label, p in out.get("probabilities", {}).items():
            row[f"{name}_p_{label}"] = p
    return row


mlflow.models.set_model(KilnBundleModel())
