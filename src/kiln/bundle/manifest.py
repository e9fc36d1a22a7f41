"""The bundle's manifest: SHA-256 and size of every file, and the check that loading runs first.

A bundle is a folder or a `.zip` of one. `read_files` reads either into memory (bundles are
small: an ONNX model and a few JSON files), `verify_files` refuses a bundle with a missing,
modified or unknown file, and `write_manifest` records what `verify_files` checks. Standard
library only, so verifying a bundle never imports a numerical library.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kiln.errors import BundleError

FORMAT = "kiln-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
# Every bundle holds these; the manifest may list no others.
REQUIRED_FILES = ("model.onnx", "preprocessing.json", "signature.json", "profile.json",
                  "metrics.json", "blueprint.yaml")
REEXPORT = "re-export it with `kiln export RUN_ID -o PATH`"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_files(path: str | Path) -> dict[str, bytes]:
    """Every file of the bundle at `path` (a folder or a .zip), keyed by its relative POSIX
    path. Raises `BundleError` when `path` is neither."""
    path = Path(path)
    if path.is_dir():
        return {p.relative_to(path).as_posix(): p.read_bytes()
                for p in sorted(path.rglob("*")) if not p.is_dir()}
    if path.is_file():
        if not zipfile.is_zipfile(path):
            raise BundleError(f"{path}: not a bundle — a bundle is a folder or a .zip made by "
                              f"`kiln export`")
        with zipfile.ZipFile(path) as archive:
            return {info.filename: archive.read(info) for info in archive.infolist()
                    if not info.is_dir()}
    raise BundleError(f"{path}: no such bundle (folder or .zip) — make one with "
                      f"`kiln export RUN_ID -o {path}`")


def build_manifest(files: dict[str, bytes], *, source_run: str | None, variant: str,
                   extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The manifest of `files` (manifest.json itself excluded)."""
    from kiln import __version__

    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "kiln_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "source_run": source_run,
        "variant": variant,
        **(extra or {}),
        "files": {name: {"sha256": sha256(data), "bytes": len(data)}
                  for name, data in sorted(files.items()) if name != MANIFEST},
    }


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=2, sort_keys=False) + "\n").encode()


def verify_files(files: dict[str, bytes], where: str | Path) -> dict[str, Any]:
    """Check `files` against their manifest and return the manifest.

    Raises `BundleError` naming the file for: no or unreadable manifest, a file the manifest
    lists that is missing, a file whose size or SHA-256 differs (both hash prefixes shown), a
    file the manifest does not list, and a manifest that lacks a required file.
    """
    manifest = _parse_manifest(files, where)
    listed: dict[str, Any] = manifest["files"]
    missing = sorted(set(listed) - set(files))
    if missing:
        raise BundleError(f"bundle {where}: {', '.join(missing)} missing — the manifest lists "
                          f"{'it' if len(missing) == 1 else 'them'}; the bundle is incomplete, "
                          f"{REEXPORT}")
    unknown = sorted(set(files) - set(listed) - {MANIFEST})
    if unknown:
        raise BundleError(f"bundle {where}: unexpected file {', '.join(unknown)} — the manifest "
                          f"does not list it; remove it or {REEXPORT}")
    for name, entry in listed.items():
        actual = sha256(files[name])
        if actual != entry.get("sha256") or len(files[name]) != entry.get("bytes"):
            raise BundleError(
                f"bundle {where}: {name} was modified — SHA-256 {actual[:12]}… "
                f"({len(files[name]):,} bytes), the manifest says "
                f"{str(entry.get('sha256'))[:12]}… ({entry.get('bytes', '?'):,} bytes); "
                f"do not edit a bundle by hand, {REEXPORT}")
    absent = [name for name in REQUIRED_FILES if name not in listed]
    if absent:
        raise BundleError(f"bundle {where}: incomplete — no {', '.join(absent)} in the "
                          f"manifest; {REEXPORT}")
    return manifest


def _parse_manifest(files: dict[str, bytes], where: str | Path) -> dict[str, Any]:
    if MANIFEST not in files:
        raise BundleError(f"bundle {where}: no {MANIFEST} — this is not a kiln bundle or it is "
                          f"incomplete; {REEXPORT}")
    try:
        manifest = json.loads(files[MANIFEST])
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"bundle {where}: {MANIFEST} is not valid JSON ({exc}); "
                          f"{REEXPORT}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT \
            or not isinstance(manifest.get("files"), dict):
        raise BundleError(f"bundle {where}: {MANIFEST} is not a kiln bundle manifest; "
                          f"{REEXPORT}")
    if manifest.get("format_version", 0) > FORMAT_VERSION:
        raise BundleError(f"bundle {where}: format version {manifest['format_version']} is "
                          f"newer than this kiln reads ({FORMAT_VERSION}) — upgrade kiln")
    return manifest


def verify(path: str | Path) -> dict[str, Any]:
    """Verify the bundle at `path` against its manifest; return the manifest."""
    return verify_files(read_files(path), path)
