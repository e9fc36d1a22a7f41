"""A bundle whose model.onnx does not match its signature.json is refused on load."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from bundle_helpers import Parts

from kiln.bundle import load
from kiln.bundle.manifest import manifest_bytes, sha256
from kiln.errors import BundleError


def swap_model(target: Path, source: Path, model: Path) -> Path:
    """`source` with `model` as its model.onnx and a manifest made consistent again."""
    shutil.copytree(source, target)
    data = model.read_bytes()
    (target / "model.onnx").write_bytes(data)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["files"]["model.onnx"] = {"sha256": sha256(data), "bytes": len(data)}
    (target / "manifest.json").write_bytes(manifest_bytes(manifest))
    return target


def test_another_models_onnx_is_refused_on_load(tmp_path: Path, mixed_bundle: Parts,
                                                digits_bundle: Parts) -> None:
    swapped = swap_model(tmp_path / "swapped", mixed_bundle.path,
                         digits_bundle.path / "model.onnx")
    with pytest.raises(BundleError, match=r"model\.onnx has inputs \['image'\], signature"
                                          r"\.json says \['city', 'note', 'tabular'\]"):
        load(swapped)


def test_a_shape_mismatch_is_refused(tmp_path: Path, digits_bundle: Parts) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(digits_bundle.path, copy)
    signature = json.loads((copy / "signature.json").read_text())
    signature["inputs"][0]["shape"] = [1, 16, 16]
    data = json.dumps(signature).encode()
    (copy / "signature.json").write_bytes(data)
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["files"]["signature.json"] = {"sha256": sha256(data), "bytes": len(data)}
    (copy / "manifest.json").write_bytes(manifest_bytes(manifest))
    with pytest.raises(BundleError, match=r"input 'image' has shape \['batch', 1, 8, 8\], "
                                          r"signature\.json says \['batch', 1, 16, 16\]"):
        load(copy)


def test_bundle_verify_checks_the_graph(tmp_path: Path, mixed_bundle: Parts,
                                        digits_bundle: Parts,
                                        kiln_cli: Callable[..., tuple[int, str, str]]) -> None:
    swapped = swap_model(tmp_path / "swapped", mixed_bundle.path,
                         digits_bundle.path / "model.onnx")
    code, out, err = kiln_cli("bundle", "verify", str(swapped))
    assert code == 2 and "does not belong to this bundle" in " ".join((out + err).split())
    assert "Traceback" not in out + err
