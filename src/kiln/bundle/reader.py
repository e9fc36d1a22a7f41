"""Load a verified bundle and predict on raw records with NumPy and ONNX Runtime only.

    bundle = kiln.bundle.load("bundles/digits")        # verifies the manifest first
    bundle.predict([{"image": [[...8×8 pixels...]]}])
    # → [{"label": {"label": "3", "confidence": 0.98, "probabilities": {"0": ..., ...}}}]

Nothing here imports torch, pandas or MLflow: the serving path starts fast and small.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.bundle.fields import out_of_range, records_to_columns
from kiln.bundle.manifest import read_files, verify_files
from kiln.errors import BundleError, KilnError

if TYPE_CHECKING:
    import onnxruntime as ort

    from kiln.data.preprocessing import Preprocessor


class Bundle:
    """A loaded, verified production bundle.

    `signature` (signature.json: `fields`, model `inputs`, `outputs`), `metrics`,
    `manifest`, `profile` and `blueprint_yaml` are the parsed files; `preprocessor` and
    `session` run them. Build one with `kiln.bundle.load`.
    """

    def __init__(self, path: Path, files: Mapping[str, bytes], manifest: dict[str, Any],
                 threads: int | None = None) -> None:
        from kiln.data.preprocessing import Preprocessor

        self.path = path
        self.manifest = manifest
        self.signature: dict[str, Any] = _json(files, "signature.json", path)
        self.metrics: dict[str, Any] = _json(files, "metrics.json", path)
        self.profile: dict[str, Any] = _json(files, "profile.json", path)
        self.blueprint_yaml = files["blueprint.yaml"].decode()
        try:
            self.preprocessor: Preprocessor = Preprocessor.from_dict(
                _json(files, "preprocessing.json", path))
        except (KeyError, TypeError, ValueError) as exc:
            raise BundleError(f"bundle {path}: preprocessing.json is malformed ({exc})") from None
        self.session: ort.InferenceSession = _session(files["model.onnx"], path, threads)
        self.sizes = {name: entry["bytes"] for name, entry in manifest["files"].items()}

    @property
    def fields(self) -> list[dict[str, Any]]:
        return list(self.signature["fields"])

    @property
    def outputs(self) -> list[dict[str, Any]]:
        return list(self.signature["outputs"])

    @property
    def variant(self) -> str:
        return str(self.manifest.get("variant", "fp32"))

    def transform(self, records: Sequence[Mapping[str, Any]], *,
                  allow_paths: bool = False) -> dict[str, np.ndarray]:
        """Records → model inputs, after checking every record against the signature.
        Image file paths are read only with `allow_paths` (never for a network client)."""
        if len(records) == 0:
            raise BundleError("records: empty — send at least one record")
        columns = records_to_columns(records, self.fields, allow_paths=allow_paths)
        return self.preprocessor.transform(columns)

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Model inputs → raw outputs (logits / standardised values) per head."""
        feed = {}
        for spec in self.signature["inputs"]:
            if spec["name"] not in inputs:
                raise BundleError(f"inputs: no array for model input {spec['name']!r}")
            dtype = np.int64 if spec["dtype"] == "int64" else np.float32
            feed[spec["name"]] = np.ascontiguousarray(inputs[spec["name"]], dtype=dtype)
        names = [o["name"] for o in self.outputs]
        return dict(zip(names, self.session.run(names, feed), strict=True))

    def predict_arrays(self, inputs: Mapping[str, np.ndarray], *,
                       raw: bool = False) -> dict[str, np.ndarray]:
        """Model inputs → decoded outputs per head: probabilities (classification,
        multilabel) or values in target units (regression); `raw=True` skips decoding."""
        outputs = self.run(inputs)
        return outputs if raw else self.preprocessor.decode(outputs)

    def predict_columns(self, columns: Mapping[str, Sequence[Any]]) -> dict[str, np.ndarray]:
        """Raw columns (field → values) → decoded outputs per head, without record checks."""
        return self.predict_arrays(self.preprocessor.transform(columns))

    def predict(self, records: Sequence[Mapping[str, Any]], *,
                allow_paths: bool = False) -> list[dict[str, Any]]:
        """Raw records → one answer per record, keyed by output name.

        classification: {"label", "confidence", "probabilities": {label: p}};
        multilabel: {"labels": [...], "probabilities": {label: p}}; regression: {"value"}
        (a list when the target has several columns). Raises `BundleError` naming the
        record and field of a bad value. Image fields take pixel values or encoded bytes;
        a file path only with `allow_paths=True`.
        """
        decoded = self.predict_arrays(self.transform(records, allow_paths=allow_paths))
        answers: list[dict[str, Any]] = [{} for _ in range(len(records))]
        for out in self.outputs:
            values = decoded[out["name"]]
            labels = out.get("labels") or [str(i) for i in range(out["size"])]
            for answer, row in zip(answers, values, strict=True):
                answer[out["name"]] = _answer(out["type"], row, labels, out.get("threshold"))
        return answers

    def flags(self, records: Sequence[Mapping[str, Any]], *,
              allow_paths: bool = False) -> list[list[str]]:
        """Per record, the values outside what training saw (numbers and pixels beyond the
        min/max in signature.json, unseen categories); [] for an ordinary record."""
        columns = records_to_columns(records, self.fields, allow_paths=allow_paths)
        return out_of_range(columns, self.fields)

    def info(self) -> dict[str, Any]:
        """Signature, metrics, sizes and provenance: the `kiln bundle info --json` object."""
        keys = ("kiln_version", "created_at", "source_run", "variant", "parity")
        return {"path": str(self.path),
                "provenance": {k: self.manifest.get(k) for k in keys if k in self.manifest},
                "fields": self.fields, "inputs": self.signature["inputs"],
                "outputs": self.outputs, "metrics": self.metrics,
                "sizes": self.sizes, "total_bytes": sum(self.sizes.values())}


def _answer(kind: str, row: np.ndarray, labels: Sequence[str],
            threshold: Mapping[str, Any] | None = None) -> dict[str, Any]:
    if kind == "classification":
        best = int(np.argmax(row))
        if threshold is not None:  # a binary decision threshold chosen at training time
            positive = list(labels).index(threshold["positive"])
            best = positive if row[positive] >= threshold["value"] else 1 - positive
        return {"label": labels[best], "confidence": float(row[best]),
                "probabilities": {lab: float(p) for lab, p in zip(labels, row, strict=True)}}
    if kind == "multilabel":
        return {"labels": [lab for lab, p in zip(labels, row, strict=True) if p > 0.5],
                "probabilities": {lab: float(p) for lab, p in zip(labels, row, strict=True)}}
    flat = np.asarray(row).ravel()
    return {"value": float(flat[0]) if flat.size == 1 else [float(v) for v in flat]}


def _json(files: Mapping[str, bytes], name: str, where: Path) -> Any:
    try:
        return json.loads(files[name])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"bundle {where}: {name} is not valid JSON ({exc})") from None


def _session(model: bytes, where: Path, threads: int | None) -> ort.InferenceSession:
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads is not None:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(model, sess_options=options,
                                    providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types for a bad model
        raise BundleError(f"bundle {where}: ONNX Runtime cannot load model.onnx "
                          f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
                          ) from None


def load(path: str | Path, *, threads: int | None = None) -> Bundle:
    """Verify the bundle at `path` (folder or .zip) against its manifest, then load it.

    `threads`: ONNX Runtime intra-op threads (None: its default). Raises `BundleError` for a
    missing, modified, unknown or malformed file, before anything is run.
    """
    path = Path(path)
    files = read_files(path)
    manifest = verify_files(files, path)
    try:
        return Bundle(path, files, manifest, threads)
    except BundleError:
        raise
    except KilnError as exc:
        raise BundleError(f"bundle {path}: {exc}") from None
