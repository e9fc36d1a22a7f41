"""A run on disk: `$KILN_HOME/runs/<run_id>/`, and `load_run` to read one back.

Layout: blueprint.yaml (resolved), weights.safetensors, preprocessing.json, signature.json,
metrics.json, run.json, checkpoints/last.pt + last.pt.sha256. Every file is written to a
temp name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiln.errors import RunError
from kiln.files import atomic_write_text, kiln_home, read_json, write_json

if TYPE_CHECKING:
    from torch import nn

    from kiln.blueprint.schema import Blueprint
    from kiln.data.prepared import PreparedData
    from kiln.model.signature import Signature


def runs_root() -> Path:
    return kiln_home() / "runs"


@dataclass
class Run:
    """A trained (or training, or failed) run, read lazily from its directory."""

    dir: Path

    @property
    def id(self) -> str:
        return self.dir.name

    @property
    def info(self) -> dict[str, Any]:
        """run.json: id, name, created, status, seed, fingerprint, versions, hardware, ..."""
        info: dict[str, Any] = read_json(self.dir / "run.json")
        return info

    @property
    def status(self) -> str:
        """run.json's status; `interrupted` for a `running` run whose process is gone."""
        from kiln.runs.owner import owner_alive

        info = self.info
        status = str(info.get("status", "unknown"))
        if status == "running" and not owner_alive(info.get("owner")):
            return "interrupted"
        return status

    @property
    def metrics(self) -> dict[str, Any]:
        """metrics.json ({} until the run has finished)."""
        path = self.dir / "metrics.json"
        return read_json(path) if path.exists() else {}

    @cached_property
    def blueprint(self) -> Blueprint:
        """The resolved blueprint; relative paths resolve against the original file's folder."""
        from kiln.blueprint import load_blueprint

        bp = load_blueprint(self.dir / "blueprint.yaml")
        origin = self.info.get("blueprint_path")
        bp.set_source(origin or None)
        return bp

    @cached_property
    def signature(self) -> Signature:
        from kiln.model.signature import Signature

        return Signature.from_dict(read_json(self.dir / "signature.json"))

    @cached_property
    def preprocessor(self) -> Any:
        from kiln.data.preprocessing import Preprocessor

        return Preprocessor.load(self.dir / "preprocessing.json")

    def load_model(self) -> nn.Module:
        """The model with the run's best weights (safetensors), in eval mode, on CPU."""
        from safetensors.torch import load_file

        from kiln.model import build_model

        path = self.dir / "weights.safetensors"
        if not path.exists():
            raise RunError(f"{path}: no weights — run {self.id} is {self.status}; "
                           f"resume it with `kiln train --resume {self.id}`")
        model = build_model(self.blueprint, self.signature)
        model.load_state_dict(load_file(str(path)))
        return model.eval()

    def data(self) -> PreparedData:
        """The run's data prepared again: same blueprint and seed → the same split (for a
        cross-validation run, the split of fold 0, the fold this run trained on)."""
        from kiln.data import prepare_data

        fold = 0 if self.info.get("cv") else None
        prepared: PreparedData = prepare_data(self.blueprint, fold=fold)
        return prepared


def load_run(ref: str | Path = "latest") -> Run:
    """A run by id, unique id prefix, directory, or `latest`. Raises `RunError`."""
    path = Path(ref)
    if (path / "run.json").exists():
        return Run(path)
    root = runs_root()
    runs = sorted(p.name for p in root.iterdir() if (p / "run.json").exists()) \
        if root.is_dir() else []
    if not runs:
        raise RunError(f"no runs under {root} — train one with `kiln train BLUEPRINT`, or set "
                       f"KILN_HOME to where your runs are")
    if str(ref) == "latest":
        return list_runs()[0]
    if str(ref) in runs:
        return Run(root / str(ref))
    matches = [r for r in runs if r.startswith(str(ref))]
    if len(matches) == 1:
        return Run(root / matches[0])
    if matches:
        raise RunError(f"run {str(ref)!r} is ambiguous: {', '.join(matches[:5])} — give more "
                       f"of the id")
    raise RunError(f"no run {str(ref)!r} under {root} — `kiln runs` lists them")


def load_resumable(ref: str | Path) -> Run:
    """`load_run(ref)`, refused when the run cannot be continued: it finished, or it is a
    cross-validation or a bagged run (neither is checkpointed as one run). Raises
    `RunError`."""
    run = load_run(ref)
    if run.status == "finished":
        raise RunError(f"run {run.id} has already finished — nothing to resume")
    if run.info.get("cv"):
        raise RunError(f"run {run.id} is a {run.info['cv']}-fold cross-validation, which cannot "
                       f"be resumed — start it again with `kiln train BLUEPRINT --cv K`")
    bagging = run.blueprint.training.bagging
    if bagging > 1:
        raise RunError(f"run {run.id} is bagged (training.bagging: {bagging}): its members "
                       f"train in memory without checkpoints, so it cannot be resumed — "
                       f"start it again with `kiln train BLUEPRINT`")
    return run


def list_runs(limit: int | None = None) -> list[Run]:
    """Runs under `$KILN_HOME/runs`, newest first."""
    root = runs_root()
    if not root.is_dir():
        return []
    runs = [Run(p) for p in root.iterdir() if (p / "run.json").exists()]
    runs.sort(key=lambda r: (r.info.get("created", ""), r.id), reverse=True)
    return runs[:limit] if limit else runs


def new_run_id(name: str) -> str:
    """`<name>-YYYYMMDD-HHMMSS-xxxx`: readable, sortable, unique enough with the suffix."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "run"
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{slug[:60]}-{stamp}-{secrets.token_hex(2)}"


def create_run_dir(blueprint: Blueprint, data: PreparedData, *, name: str,
                   extra: dict[str, Any]) -> Run:
    """Make the run directory with everything known before training; status `running`."""
    from kiln.blueprint import dump_blueprint
    from kiln.runs.owner import process_owner

    root = runs_root()
    root.mkdir(parents=True, exist_ok=True)
    while True:
        run_id = new_run_id(name)
        try:
            (root / run_id).mkdir()
            break
        except FileExistsError:
            continue
    run = Run(root / run_id)
    atomic_write_text(run.dir / "blueprint.yaml", dump_blueprint(blueprint))
    write_json(run.dir / "signature.json", data.signature.to_dict())
    write_json(run.dir / "preprocessing.json", data.preprocessor.to_dict())
    info = {"id": run_id, "name": name, "created": now_iso(), "status": "running",
            "seed": blueprint.seed, "data_fingerprint": data.fingerprint,
            "blueprint_path": str(blueprint.path) if blueprint.path else None,
            "owner": process_owner(), **extra}
    write_json(run.dir / "run.json", info)
    return run


def update_info(run: Run, **fields: Any) -> None:
    info = run.info
    info.update(fields)
    write_json(run.dir / "run.json", info)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def git_commit(folder: Path) -> str | None:
    """The commit of the repository holding the blueprint, or None outside git."""
    import subprocess

    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=folder, capture_output=True,
                              text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() or None if done.returncode == 0 else None


def elapsed_since(start: float) -> float:
    return round(time.perf_counter() - start, 3)
