"""A tampered or incomplete bundle is refused before anything runs, with the file named."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from bundle_helpers import Parts

from kiln.bundle import load, verify
from kiln.errors import BundleError


@pytest.fixture
def copy(tmp_path: Path, mixed_bundle: Parts) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(mixed_bundle.path, target)
    return target


def test_modified_byte_names_file_and_hashes(copy: Path) -> None:
    path = copy / "model.onnx"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    expected = json.loads((copy / "manifest.json").read_text())["files"]["model.onnx"]["sha256"]
    with pytest.raises(BundleError, match=r"model\.onnx was modified") as info:
        load(copy)
    assert expected[:12] in str(info.value)


def test_deleted_file_is_named(copy: Path) -> None:
    (copy / "preprocessing.json").unlink()
    with pytest.raises(BundleError, match=r"preprocessing\.json missing .* incomplete"):
        verify(copy)


def test_added_file_is_named(copy: Path) -> None:
    (copy / "notes.txt").write_text("hi")
    with pytest.raises(BundleError, match=r"unexpected file notes\.txt"):
        load(copy)


def test_edited_json_is_refused(copy: Path) -> None:
    path = copy / "signature.json"
    path.write_text(path.read_text().replace('"numeric"', '"categorical"', 1))
    with pytest.raises(BundleError, match=r"signature\.json was modified"):
        load(copy)


def test_missing_manifest_and_manifest_without_required_file(copy: Path) -> None:
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["files"]["profile.json"]
    (copy / "profile.json").unlink()
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(BundleError, match=r"incomplete — no profile\.json"):
        load(copy)
    (copy / "manifest.json").unlink()
    with pytest.raises(BundleError, match=r"no manifest\.json"):
        load(copy)


def test_not_a_bundle(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match="no such bundle"):
        load(tmp_path / "nowhere")
    (tmp_path / "x.zip").write_text("not a zip")
    with pytest.raises(BundleError, match="not a bundle"):
        load(tmp_path / "x.zip")


def test_tampered_zip(tmp_path: Path, mixed_bundle: Parts) -> None:
    target = tmp_path / "b.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for file in mixed_bundle.path.iterdir():
            data = file.read_bytes()
            if file.name == "metrics.json":
                data = data.replace(b"0.5", b"0.9")
            archive.writestr(file.name, data)
    with pytest.raises(BundleError, match=r"metrics\.json was modified"):
        load(target)
