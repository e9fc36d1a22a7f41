"""Files and folders written so that a reader sees the old content or the new, never a part.

The one home of kiln's atomic writes: every artifact (run files, checkpoints, weights,
preprocessing, ONNX models, variants, bundles) goes through these helpers. A file is
written to a temp name in the same folder and renamed over the target; a folder is built
beside its destination and swapped in with two renames.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kiln.errors import RunError


def kiln_home() -> Path:
    """Where kiln keeps its files — runs, the embedded tracking store, studies, bundles,
    the prediction log: `$KILN_HOME` or `./kiln-runs`."""
    return Path(os.environ.get("KILN_HOME") or "kiln-runs")


@contextmanager
def atomic_path(path: Path, *, durable: bool = False) -> Iterator[Path]:
    """Yield a temp path in `path`'s folder; when the block succeeds it replaces `path`.

    For writers that want a path (safetensors, ONNX, zip). The temp file is removed when
    the block raises. `durable` fsyncs the file before the rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        if durable:
            with open(tmp, "rb+") as handle:
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)  # like any other file written here, not owner-only
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def atomic_write_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    """Write `data` to `path` atomically.

    The rename alone protects against a killed process; `durable` also fsyncs, against a
    machine that loses power. Per-epoch checkpoints skip it (it costs milliseconds per
    epoch and their SHA-256 catches a damaged file); final artifacts keep it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str, *, durable: bool = True) -> None:
    """`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable)


def write_json(path: Path, payload: Any) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2, default=str) + "\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: missing — the run directory is incomplete",
                       where=str(path)) from None
    except json.JSONDecodeError as exc:
        raise RunError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})",
                       where=str(path)) from None


def swap_in(built: Path, destination: Path) -> None:
    """Replace `destination` (a folder or file, or nothing) with the complete `built`.

    `built` must be on the same file system (build it beside `destination`). The old
    content stays in place until the new one is ready: a failure before the swap leaves
    it untouched, and a reader never sees a mix of the two."""
    if not destination.exists():
        os.replace(built, destination)
        return
    old = destination.with_name(f".{destination.name}.old")
    _remove(old)
    os.replace(destination, old)
    os.replace(built, destination)
    _remove(old)


@contextmanager
def staging_folder(destination: Path) -> Iterator[Path]:
    """A temp folder beside `destination`, removed afterwards whatever happens."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()
