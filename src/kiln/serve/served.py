"""One model version as the service holds it: the verified bundle, its name and version,
its out-of-distribution checks — loaded, checked against the version it replaces, and
warmed up before it may answer.

Requests keep a reference to the `ServedModel` they started on, so a reload never changes
the model under a request that is already running.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.errors import BundleError, KilnError
from kiln.serve.ood import OutOfDistribution
from kiln.serve.problems import RequestRejected

if TYPE_CHECKING:
    from kiln.bundle import Bundle
    from kiln.serve.settings import ServeSettings

log = logging.getLogger("kiln.serve")


@dataclass
class Answered:
    """One request's share of a batch: its rows of each decoded output, one
    `Bundle.predict` answer per record, and per record the (kind, reason) of every input
    check that failed."""

    decoded: dict[str, np.ndarray]
    answers: list[dict[str, Any]]
    reasons: list[list[tuple[str, str]]]


@dataclass
class ServedModel:
    """A loaded bundle with the identity the service reports for it."""

    bundle: Bundle
    name: str
    version: str
    source: str
    ood: OutOfDistribution
    loaded_at: float = field(default_factory=time.time)

    def run_batch(self, requests: Sequence[list[dict[str, Any]]]) -> list[Answered | KilnError]:
        """Several requests' records → one `Answered` (or the error) per request.

        Runs in the model thread: the records of the whole batch are checked and
        preprocessed by `Bundle.transform` in one call (the same code as `Bundle.predict`,
        and far cheaper per row than one call per request), run by ONNX Runtime in one
        call, and checked for out-of-distribution values in one pass. When a record is
        refused, the requests are checked one by one so that only the bad one fails."""
        records = [record for request in requests for record in request]
        try:
            inputs = self._transform(records)
        except KilnError as exc:
            return [exc] if len(requests) == 1 else self._one_by_one(requests)
        decoded = self.run(inputs)
        reasons = self.ood.input_reasons(records)
        try:  # one pass for the batch; answers are built here, off the event loop
            answers = self.bundle.answers(decoded, len(records))
        except BundleError:  # a non-finite answer: refuse only the requests that hold one
            answers = None
        out: list[Answered | KilnError] = []
        start = 0
        for request in requests:
            end = start + len(request)
            share = {k: v[start:end] for k, v in decoded.items()}
            try:
                mine = (answers[start:end] if answers is not None
                        else self.bundle.answers(share, len(request)))
            except BundleError as exc:
                out.append(exc)
            else:
                out.append(Answered(share, mine, reasons[start:end]))
            start = end
        return out

    def _one_by_one(self, requests: Sequence[list[dict[str, Any]]]
                    ) -> list[Answered | KilnError]:
        results: list[Answered | KilnError | None] = [None] * len(requests)
        good = []
        for i, request in enumerate(requests):
            try:
                self._transform(request)
                good.append(i)
            except KilnError as exc:
                results[i] = exc
        if good:
            for i, answered in zip(good, self.run_batch([requests[i] for i in good]),
                                   strict=True):
                results[i] = answered
        return [r for r in results if r is not None]

    def _transform(self, records: list[dict[str, Any]]) -> dict[str, np.ndarray]:
        try:
            return self.bundle.transform(records)
        except KilnError:
            raise
        except (TypeError, ValueError, OverflowError, IndexError) as exc:
            # the bundle's checks should have caught this: log it, and still answer 4xx
            log.warning("records the bundle did not refuse failed preprocessing: %r", exc)
            raise RequestRejected(f"the records could not be preprocessed ({type(exc).__name__}"
                                  f") — check them against GET /v2/models/{self.name}",
                                  status=422, field="records") from None

    def run(self, inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Model inputs (a whole batch) → decoded outputs per head. Runs in the model thread."""
        return self.bundle.predict_arrays(inputs)

    def warm_up(self, rows: int) -> None:
        """Run batches of 1 and `rows` zero rows, so the first request does not pay for
        ONNX Runtime's lazy set-up (and a model that cannot run is refused here)."""
        for n in sorted({1, rows}):
            feed = {spec["name"]: np.zeros([n, *spec["shape"]],
                                           np.int64 if spec["dtype"] == "int64" else np.float32)
                    for spec in self.bundle.signature["inputs"]}
            try:
                self.run(feed)
            except KilnError:
                raise
            except Exception as exc:  # ORT's own error types
                raise BundleError(f"bundle {self.source}: the model fails on a batch of {n} "
                                  f"rows ({str(exc).splitlines()[0][:200]})") from None

    def metadata(self) -> dict[str, Any]:
        """The Open Inference Protocol model metadata."""
        from kiln.serve.tensors import input_metadata, output_metadata

        return {"name": self.name, "versions": [self.version], "platform": "kiln_onnx",
                "inputs": [input_metadata(f) for f in self.bundle.fields],
                "outputs": [output_metadata(o) for o in self.bundle.outputs]}


def load_served(path: str | Path, settings: ServeSettings, *, name: str | None = None,
                version: str | None = None) -> ServedModel:
    """Load and verify the bundle at `path`, name it, and warm it up."""
    from kiln.bundle import load

    bundle = load(path, threads=settings.threads)
    model = ServedModel(bundle=bundle, name=name or bundle_name(bundle),
                        version=version or bundle_version(bundle), source=str(path),
                        ood=OutOfDistribution(bundle, z=settings.ood_z,
                                              confidence_quantile=
                                              settings.low_confidence_quantile))
    model.warm_up(settings.max_batch_rows)
    return model


def bundle_name(bundle: Bundle) -> str:
    """The blueprint's `name:` (the model's name in every answer and in /v2/models)."""
    import yaml

    try:
        data = yaml.safe_load(bundle.blueprint_yaml)
    except yaml.YAMLError:
        data = None
    name = data.get("name") if isinstance(data, dict) else None
    return str(name) if name else Path(str(bundle.path)).stem


def bundle_version(bundle: Bundle) -> str:
    """A content address of the bundle: the first 12 hex digits of the SHA-256 of its
    manifest's file list (the same files give the same version)."""
    files = json.dumps(bundle.manifest["files"], sort_keys=True).encode()
    return hashlib.sha256(files).hexdigest()[:12]


def check_compatible(old: ServedModel, new: ServedModel) -> None:
    """Refuse a replacement whose fields or outputs differ: clients would break."""
    def shape(model: ServedModel) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        return ([(f["name"], f["type"]) for f in model.bundle.fields],
                [(o["name"], o["type"]) for o in model.bundle.outputs])

    (old_in, old_out), (new_in, new_out) = shape(old), shape(new)
    if old_in != new_in or old_out != new_out:
        raise BundleError(f"bundle {new.source}: its signature differs from the model being "
                          f"served (fields {_names(new_in)} vs {_names(old_in)}, outputs "
                          f"{_names(new_out)} vs {_names(old_out)}) — clients would break; "
                          f"serve it as a new service instead", where="bundle")


def _names(pairs: Sequence[tuple[str, str]]) -> str:
    shown = ", ".join(f"{n}:{t}" for n, t in pairs[:6])
    return f"[{shown}{', ...' if len(pairs) > 6 else ''}]"
