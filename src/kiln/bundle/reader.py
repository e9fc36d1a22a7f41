"""Load a verified bundle and predict on raw records with NumPy and ONNX Runtime only.

    bundle = kiln.bundle.load("bundles/digits")        # verifies the manifest first
    bundle.predict([{"image": [[...8×8 pixels...]]}])
    # → [{"label": {"label": "3", "confidence": 0.98, "probabilities": {"0": ..., ...}}}]

Nothing here imports torch, pandas or MLflow: the serving path starts fast and small.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.bundle.answers import check_answers, check_inputs
from kiln.bundle.fields import Records, out_of_range, read_records
from kiln.bundle.graph_check import check_graph
from kiln.bundle.manifest import read_files, verify_files
from kiln.bundle.session import ort_session
from kiln.errors import BundleError, DataError, KilnError

BATCH_ROWS = 512  # records per ONNX Runtime call in `predict`: bounded memory, same speed

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
        self.session: ort.InferenceSession = ort_session(files["model.onnx"], threads=threads,
                                                       where=path)
        check_graph(self.session, self.signature, path)
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

    @cached_property  # read on every request: looked up once
    def non_finite(self) -> str:
        """data.non_finite of the run: what a ±inf sent in a numeric field becomes."""
        for transform in self.preprocessor.columns.values():
            if hasattr(transform, "non_finite"):
                return str(transform.non_finite)
        return "error"

    def read(self, records: Sequence[Mapping[str, Any]], *, allow_paths: bool = False,
             first: int = 0) -> Records:
        """Check every record against the signature (the rule of `kiln.bundle.values`)."""
        if isinstance(records, Sequence) and len(records) == 0:
            raise BundleError("records: empty — send at least one record", where="records")
        return read_records(records, self.fields, non_finite=self.non_finite,
                            allow_paths=allow_paths, first=first)

    def transform(self, records: Sequence[Mapping[str, Any]], *,
                  allow_paths: bool = False, first: int = 0) -> dict[str, np.ndarray]:
        """Records → model inputs, after checking every record against the signature.
        Image file paths are read only with `allow_paths` (never for a network client).
        `first`: the index of `records[0]` in the caller's list, for error messages."""
        columns = self.read(records, allow_paths=allow_paths, first=first).columns
        try:
            inputs = self.preprocessor.transform(columns)
        except DataError as exc:
            raise BundleError(str(exc), where="records") from None
        check_inputs(inputs, self.preprocessor.inputs, first)
        return inputs

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

    def predict(self, records: Sequence[Mapping[str, Any]], *, allow_paths: bool = False,
                batch_rows: int = BATCH_ROWS) -> list[dict[str, Any]]:
        """Raw records → one answer per record, keyed by output name.

        classification: {"label", "confidence", "probabilities": {label: p}};
        multilabel: {"labels": [...], "probabilities": {label: p}}; regression: {"value"}
        (a list when the target has several columns). Records run `batch_rows` at a time,
        so memory stays bounded however many are sent. Raises `BundleError` naming the
        record and field of a bad value (`where="records[i].field"`), and never answers
        NaN: a record whose answer is not finite is refused. Image fields take pixel values
        or encoded bytes; a file path only with `allow_paths=True`.
        """
        if batch_rows < 1:
            raise BundleError(f"batch_rows: {batch_rows} — must be at least 1",
                              where="batch_rows")
        if isinstance(records, Mapping) or not isinstance(records, Sequence) \
                or len(records) == 0:
            self.read(records)  # raises: not a list of records, or an empty one
        answers: list[dict[str, Any]] = []
        for first in range(0, len(records), batch_rows):
            chunk = records[first:first + batch_rows]
            decoded = self.predict_arrays(self.transform(chunk, allow_paths=allow_paths,
                                                         first=first))
            answers.extend(self.answers(decoded, len(chunk), first=first))
        return answers

    def answers(self, decoded: Mapping[str, np.ndarray], rows: int, *,
                first: int = 0) -> list[dict[str, Any]]:
        """Decoded outputs (`predict_arrays`) of `rows` records → one `predict` answer each.
        Raises `BundleError` for a record whose answer is not finite (`first`: the index of
        the first of these records in the request): no NaN is ever answered."""
        check_answers(decoded, first)
        answers: list[dict[str, Any]] = [{} for _ in range(rows)]
        for out in self.outputs:
            values = decoded[out["name"]]
            labels = out.get("labels") or [str(i) for i in range(out["size"])]
            for answer, row in zip(answers, values, strict=True):
                answer[out["name"]] = _answer(out["type"], row, labels, out.get("threshold"))
        return answers

    def flags(self, records: Sequence[Mapping[str, Any]], *,
              allow_paths: bool = False) -> list[list[str]]:
        """Per record, what is unusual about it: values outside what training saw (numbers
        and pixels beyond the min/max in signature.json, unseen categories) and values the
        bundle filled in or changed (a missing value imputed, an infinite one clipped);
        [] for an ordinary record."""
        checked = self.read(records, allow_paths=allow_paths)
        ranges = out_of_range(checked.columns, self.fields)
        return [notes + extra for notes, extra in zip(checked.notes, ranges, strict=True)]

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
        values = row.tolist()  # Python floats, exactly the float32 values
        best = values.index(max(values))  # the first largest, as np.argmax
        if threshold is not None:  # a binary decision threshold chosen at training time
            positive = list(labels).index(threshold["positive"])
            best = positive if values[positive] >= threshold["value"] else 1 - positive
        return {"label": labels[best], "confidence": values[best],
                "probabilities": dict(zip(labels, values, strict=True))}
    if kind == "multilabel":
        values = row.tolist()
        return {"labels": [lab for lab, p in zip(labels, values, strict=True) if p > 0.5],
                "probabilities": dict(zip(labels, values, strict=True))}
    flat = np.asarray(row).ravel()
    return {"value": float(flat[0]) if flat.size == 1 else [float(v) for v in flat]}


def _json(files: Mapping[str, bytes], name: str, where: Path) -> Any:
    try:
        return json.loads(files[name])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"bundle {where}: {name} is not valid JSON ({exc})") from None


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
