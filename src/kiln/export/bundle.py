"""`kiln export`: a trained run (or one of its compressed variants) → a production bundle.

The bundle is written in a temporary folder beside the destination and renamed into place
once complete, so a crash never leaves half a bundle where a service would look for one.
torch is needed only to export the fp32 model (inside `_fp32_model`); a compressed variant
is copied from the run's variants table (`kiln compress`, `variants/variants.json`).
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from kiln.bundle.fields import describe_fields
from kiln.bundle.manifest import MANIFEST, build_manifest, manifest_bytes
from kiln.bundle.profile import build_profile
from kiln.errors import BundleError, did_you_mean
from kiln.files import staging_folder, swap_in

if TYPE_CHECKING:
    from kiln.data.preprocessing import Preprocessor
    from kiln.model.signature import Signature

PROFILE_ROWS = 10_000  # training rows summarised in profile.json (a seeded sample beyond)


def export(run: Any, *, variant: str = "fp32", output: str | Path, zip: bool = False,
           overwrite: bool = False) -> Path:
    """Write the production bundle of `run` (a `kiln.train.Run` or a run id) and return
    its path (`output`, or `output` + ".zip" with `zip=True`).

    fp32 exports the trained model to ONNX and checks parity with PyTorch on the test split
    (`ParityError` when it fails); any other variant comes from `kiln compress`. Raises
    `BundleError` for an unknown variant or an existing destination without `overwrite`,
    `RunError` for a run that does not exist.
    """
    if isinstance(run, (str, Path)):
        from kiln.runs import load_run

        run = load_run(run)
    destination = _destination(Path(output), zip, overwrite)
    data = run.data()
    model_bytes, parity, variant_metrics = _model_bytes(run, variant, data)
    metrics = {k: v for k, v in dict(run.metrics).items() if k != "history"}
    metrics["variant"] = {"name": variant, **variant_metrics}
    if parity is not None:
        metrics["variant"]["parity"] = parity
    return write_bundle(
        destination, model_onnx=model_bytes, preprocessor=run.preprocessor,
        signature=run.signature, features=data.features,
        train_columns=_train_columns(data), train_inputs=data.train.inputs, metrics=metrics,
        blueprint_yaml=(Path(run.dir) / "blueprint.yaml").read_text(encoding="utf-8"),
        source_run=run.id, variant=variant, zip=zip, overwrite=overwrite,
        calibration_split=(data.val.inputs, data.val.targets) if len(data.val) else None,
        decisions=_decisions(run.signature, metrics.get("threshold")))


def _decisions(signature: Signature, threshold: Mapping[str, Any] | None,
               ) -> dict[str, dict[str, Any]]:
    """The decision rule per output (a chosen binary threshold) for signature.json."""
    if not threshold:
        return {}
    keys = ("positive", "negative", "value", "rule")
    return {signature.outputs[0].name: {k: threshold[k] for k in keys}}


def write_bundle(destination: Path, *, model_onnx: bytes, preprocessor: Preprocessor,
                 signature: Signature, features: Sequence[Any],
                 train_columns: Mapping[str, Sequence[Any]],
                 train_inputs: Mapping[str, np.ndarray], metrics: dict[str, Any],
                 blueprint_yaml: str, source_run: str | None, variant: str,
                 zip: bool = False, overwrite: bool = False,
                 calibration_split: tuple[Mapping[str, np.ndarray],
                                          Mapping[str, np.ndarray]] | None = None,
                 decisions: Mapping[str, dict[str, Any]] | None = None) -> Path:
    """Assemble a bundle from its parts and move it into place atomically.

    `train_columns` are raw training values per feature and `train_inputs` their
    preprocessed arrays (for the signature's ranges and the reference profile);
    `calibration_split` (validation inputs, targets) calibrates the confidence for the
    monitor's accuracy estimate.
    `decisions` maps an output name to its decision threshold (signature.json's
    `threshold` entry of that output, applied by `Bundle.predict`).
    """
    input_of = {name: spec.name for spec in signature.inputs for name in spec.features}
    fields = describe_fields(features, train_columns, input_of)
    outputs = [{**o, "labels": list(o["labels"]) if o.get("labels") else None}
               for o in signature.to_dict()["outputs"]]
    for out in outputs:
        if decisions and out["name"] in decisions:
            out["threshold"] = dict(decisions[out["name"]])
    sig = {"fields": fields, "inputs": signature.to_dict()["inputs"], "outputs": outputs}
    decoded = preprocessor.decode(_run_onnx(model_onnx, signature, train_inputs))
    files: dict[str, bytes] = {
        "model.onnx": model_onnx,
        "preprocessing.json": _json_bytes(preprocessor.to_dict()),
        "signature.json": _json_bytes(sig),
        "profile.json": _json_bytes(build_profile(
            fields, train_columns, train_inputs, outputs, decoded,
            _calibration(model_onnx, signature, preprocessor, calibration_split))),
        "metrics.json": _json_bytes(metrics),
        "blueprint.yaml": blueprint_yaml.encode(),
    }
    parity = (metrics.get("variant") or {}).get("parity")
    manifest = build_manifest(files, source_run=source_run, variant=variant,
                              extra={"parity": parity} if parity else None)
    files[MANIFEST] = manifest_bytes(manifest)
    return _place(files, _destination(destination, zip, overwrite), zip)


def _calibration(model: bytes, signature: Signature, preprocessor: Preprocessor,
                 split: tuple[Mapping[str, np.ndarray], Mapping[str, np.ndarray]] | None,
                 ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per classification head: (probabilities, true class ids) on the validation split."""
    heads = [o.name for o in signature.outputs if o.type == "classification"]
    if split is None or not heads:
        return {}
    inputs, targets = split
    rows = _sample(len(next(iter(inputs.values()))), PROFILE_ROWS)  # as _run_onnx samples
    decoded = preprocessor.decode(_run_onnx(model, signature, inputs))
    return {h: (decoded[h], np.asarray(targets[h])[rows]) for h in heads if h in targets}


def _destination(output: Path, zip: bool, overwrite: bool) -> Path:
    if zip and output.suffix != ".zip":
        output = output.with_name(output.name + ".zip")
    if output.exists() and not overwrite:
        raise BundleError(f"{output}: already exists — choose another -o path or pass "
                          f"--force to replace it")
    return output


def _place(files: Mapping[str, bytes], destination: Path, zip: bool) -> Path:
    """Write `files` beside `destination`, then rename the result into place."""
    with staging_folder(destination) as staging:
        if zip:
            built = staging / destination.name
            with zipfile.ZipFile(built, "w", compression=zipfile.ZIP_DEFLATED) as archive:
                for name, data in files.items():
                    archive.writestr(name, data)
        else:
            built = staging / "bundle"
            built.mkdir()
            for name, data in files.items():
                (built / name).write_bytes(data)
        swap_in(built, destination)  # the existing bundle is kept until the new one is in
    return destination


def _model_bytes(run: Any, variant: str,
                 data: Any) -> tuple[bytes, dict[str, Any] | None, dict[str, Any]]:
    """The ONNX model of `variant`, its parity with PyTorch (fp32) and its measured row."""
    if variant == "fp32":
        return _fp32_model(run, data)
    row, onnx_path = _variant_entry(run, variant)
    return onnx_path.read_bytes(), None, row


def _fp32_model(run: Any, data: Any) -> tuple[bytes, dict[str, Any], dict[str, Any]]:
    from kiln.compress.onnx_export import check_parity
    from kiln.model.onnx_export import export_onnx

    model = run.load_model()
    with tempfile.TemporaryDirectory(prefix="kiln-export-") as tmp:
        path = export_onnx(model, run.signature, Path(tmp) / "model.onnx")
        parity = check_parity(model, path, data.test.inputs, signature=run.signature)
        return path.read_bytes(), parity.to_dict(), {}


def _variant_entry(run: Any, variant: str) -> tuple[dict[str, Any], Path]:
    """The row of `variant` in the run's variants table (`kiln compress`) and its model."""
    from kiln.compress.stage import load_variants
    from kiln.errors import RunError

    hint = f"run `kiln compress {run.id}` first"
    try:
        table = load_variants(run)
    except RunError:
        raise BundleError(f"run {run.id}: no compressed variants yet, so no {variant!r} to "
                          f"export — {hint}, or export the fp32 model (--variant fp32)"
                          ) from None
    names = [v.name for v in table.variants]
    if variant not in names or not table.path(variant).exists():
        raise BundleError(f"run {run.id}: no variant {variant!r}"
                          f"{did_you_mean(variant, names)} (available: "
                          f"{', '.join(sorted({'fp32', *names}))}) — {hint} with that "
                          f"variant enabled")
    if table.path(variant).suffix != ".onnx":
        raise BundleError(f"run {run.id}: variant {variant!r} is an edge program "
                          f"({table.variant(variant).path}), not ONNX — a bundle serves "
                          f"ONNX; embed that file in your app with the ExecuTorch runtime, "
                          f"and export an ONNX variant (--variant {table.selected or 'fp32'})")
    row = {k: v for k, v in table.variant(variant).to_dict().items() if k not in ("name",)}
    row["selected"] = table.selected == variant
    return row, table.path(variant)


def _train_columns(data: Any, limit: int = PROFILE_ROWS) -> dict[str, list[Any]]:
    """Raw training values per feature (a seeded sample of `limit` rows at most)."""
    rows = _sample(len(data.train), limit)
    frame = data.table.iloc[np.asarray(data.train.index)[rows]]
    return {f.name: frame[f.name].tolist() for f in data.features}


def _sample(n: int, limit: int) -> np.ndarray:
    if n <= limit:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, size=limit, replace=False))


def _run_onnx(model: bytes, signature: Signature,
              inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    from kiln.bundle.session import ort_session

    session = ort_session(model)
    n = len(next(iter(inputs.values())))
    rows = _sample(n, PROFILE_ROWS)
    feed = {s.name: np.ascontiguousarray(inputs[s.name][rows],
                                         dtype=np.int64 if s.dtype == "int64" else np.float32)
            for s in signature.inputs}
    names = signature.output_names
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    for start in range(0, len(rows), 1024):
        batch = {k: v[start:start + 1024] for k, v in feed.items()}
        for name, out in zip(names, session.run(names, batch), strict=True):
            parts[name].append(np.asarray(out))
    return {name: np.concatenate(chunks) for name, chunks in parts.items()}


def _json_bytes(payload: Any) -> bytes:
    return (json.dumps(payload, indent=1, default=_plain) + "\n").encode()


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
