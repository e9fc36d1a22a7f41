"""Files written so that a reader sees the old content or the new, never a part of it."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from kiln.errors import RunError


def atomic_write_text(path: Path, text: str, *, durable: bool = True) -> None:
    """Write to a temp file in the same folder, then rename over `path`.

    The rename alone protects against a killed process; `durable` also fsyncs, against a
    machine that loses power. Per-epoch checkpoints skip it (it costs milliseconds per
    epoch and their SHA-256 catches a damaged file); final artifacts keep it."""
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        if durable:
            handle.flush()
            os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_json(path: Path, payload: Any) -> None:
    atomic_write_text(path, json.dumps(payload, indent=2, default=str) + "\n")


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RunError(f"{path}: missing — the run directory is incomplete") from None
    except json.JSONDecodeError as exc:
        raise RunError(f"{path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
