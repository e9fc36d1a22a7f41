"""The model registry: bundles as MLflow model versions, aliases, promotion and rollback.

It lives in the same MLflow store as the runs (`kiln.tracking.tracking_uri()`). A version's
artifacts are an MLflow pyfunc model (logged from code, nothing pickled) whose `bundle`
artifact is the verified bundle, so both `kiln serve models:/digits@champion` and
`mlflow.pyfunc.load_model("models:/digits@champion")` work. Every alias change is
appended to the registered model's tag `kiln.alias_history` (JSON), which `rollback` reads:
the champion goes back to the version it replaced, and the history keeps both moves.
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiln.errors import BundleError, RegistryError, did_you_mean

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion
    from mlflow.tracking import MlflowClient

EXPERIMENT = "kiln-registry"  # the MLflow experiment that holds one run per registration
HISTORY_TAG = "kiln.alias_history"
HISTORY_KEEP = 500  # newest entries kept in the tag (MLflow allows 100k characters)
ALIASES = ("champion", "challenger")
PYFUNC_FILE = Path(__file__).with_name("pyfunc_model.py")
ALIAS_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")


@dataclass
class VersionInfo:
    """One registered model version, as `kiln registry list` shows it."""

    name: str
    version: int
    aliases: list[str]
    created: str
    source_run: str | None
    variant: str | None
    metrics: dict[str, Any] = field(default_factory=dict)
    bundle_sha256: str | None = None
    mlflow_run_id: str | None = None
    status: str = "READY"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def register(bundle: str | Path, *, name: str, description: str | None = None) -> VersionInfo:
    """Verify `bundle` (folder or .zip), then register it as a new version of model `name`
    (created on first use). Raises `BundleError` for a tampered or incomplete bundle —
    nothing is registered then."""
    import mlflow

    from kiln.bundle import load, read_files
    from kiln.bundle.manifest import MANIFEST, sha256
    from kiln.tracking import client, experiment_id

    path = Path(bundle)
    try:
        loaded = load(path)
    except BundleError as exc:
        raise BundleError(f"not registered: {exc}") from None
    _check_name(name)
    mlflow_client = client()
    manifest_hash = sha256(read_files(path)[MANIFEST])
    tags = {"kiln.source_run": str(loaded.manifest.get("source_run")),
            "kiln.variant": loaded.variant, "kiln.bundle_sha256": manifest_hash,
            "kiln.kiln_version": str(loaded.manifest.get("kiln_version")),
            "kiln.metrics": json.dumps(_scores(loaded.metrics))}
    run = mlflow_client.create_run(experiment_id(mlflow_client, EXPERIMENT),
                                   run_name=f"register {name}", tags=tags)
    run_id = run.info.run_id
    with tempfile.TemporaryDirectory(prefix="kiln-register-") as tmp, _quiet_pyfunc():
        model_dir = Path(tmp) / "model"
        # No MLflow signature: the bundle checks records against its own, with messages
        # that name the record and field.
        mlflow.pyfunc.save_model(
            str(model_dir), python_model=str(PYFUNC_FILE),
            artifacts={"bundle": str(path.resolve())},
            pip_requirements=["kiln", "numpy", "onnxruntime", "pandas"])
        mlflow_client.log_artifacts(run_id, str(model_dir), "model")
    _log_scores(mlflow_client, run_id, loaded.metrics)
    mlflow_client.set_terminated(run_id)
    _ensure_model(mlflow_client, name)
    version = mlflow_client.create_model_version(
        name, source=f"{run.info.artifact_uri}/model", run_id=run_id, tags=tags,
        description=description or f"bundle {path.name} from run "
                                   f"{loaded.manifest.get('source_run')}")
    return _info(version, {})


def promote(name: str, version: int | str, *, alias: str = "champion") -> dict[str, Any]:
    """Point `alias` of model `name` at `version` and record the move; returns the history
    entry. Promoting a challenger to champion drops its challenger alias."""
    if not ALIAS_PATTERN.match(alias) or alias.isdigit():
        raise RegistryError(f"alias {alias!r}: use letters, digits, '_' or '-' and start with "
                            f"a letter (kiln uses {' and '.join(ALIASES)})")
    mlflow_client = _client()
    model = _model(mlflow_client, name)
    target = _version(mlflow_client, name, version)
    current = _alias_target(model, alias)
    if current == int(target.version):
        raise RegistryError(f"{name} version {current} already is {alias} — nothing to do")
    mlflow_client.set_registered_model_alias(name, alias, str(target.version))
    if alias == "champion" and _alias_target(model, "challenger") == int(target.version):
        mlflow_client.delete_registered_model_alias(name, "challenger")
    return _record(mlflow_client, name, "promote", alias, int(target.version), current)


def rollback(name: str, *, alias: str = "champion") -> dict[str, Any]:
    """Point `alias` back at the version it held before the current one was promoted.

    Raises `RegistryError` when no version holds `alias` or none held it before."""
    mlflow_client = _client()
    model = _model(mlflow_client, name)
    current = _alias_target(model, alias)
    if current is None:
        raise RegistryError(f"{name}: no version is {alias}, so there is nothing to roll back "
                            f"— promote one with `kiln registry promote {name} VERSION`")
    entries = history(name)
    previous = next((e["previous"] for e in reversed(entries)
                     if e["action"] == "promote" and e["alias"] == alias
                     and e["version"] == current), None)
    if previous is None:
        raise RegistryError(f"{name}: version {current} is the first {alias} on record — "
                            f"there is no previous {alias} to roll back to")
    _version(mlflow_client, name, previous)  # it may have been deleted since
    mlflow_client.set_registered_model_alias(name, alias, str(previous))
    return _record(mlflow_client, name, "rollback", alias, previous, current)


def list_versions(name: str) -> list[VersionInfo]:
    """Every version of model `name`, newest first, with aliases, metrics and provenance."""
    mlflow_client = _client()
    model = _model(mlflow_client, name)
    aliases: dict[int, list[str]] = {}
    for alias, version in (model.aliases or {}).items():
        aliases.setdefault(int(version), []).append(alias)
    versions = mlflow_client.search_model_versions(f"name = '{_quoted(name)}'")
    return sorted((_info(v, aliases) for v in versions), key=lambda v: -v.version)


def history(name: str) -> list[dict[str, Any]]:
    """The alias moves of model `name`, oldest first: {at, action, alias, version,
    previous}."""
    model = _model(_client(), name)
    raw = (model.tags or {}).get(HISTORY_TAG)
    return list(json.loads(raw)) if raw else []


def bundle_path(name: str, ref: str = "champion", *, dst: str | Path | None = None) -> Path:
    """Download the bundle of `name` at `ref` (an alias or a version number) and return
    its local path (folder or .zip), for serving without the pyfunc wrapper."""
    mlflow_client = _client()
    model = _model(mlflow_client, name)
    if ref.isdigit():
        version = _version(mlflow_client, name, ref)
    else:
        number = _alias_target(model, ref)
        if number is None:
            known = ", ".join(sorted(model.aliases or {})) or "none"
            raise RegistryError(f"{name}: no version is {ref!r} (aliases: {known}) — promote "
                                f"one with `kiln registry promote {name} VERSION --alias {ref}`")
        version = _version(mlflow_client, name, number)
    from mlflow.artifacts import download_artifacts

    target = Path(dst or tempfile.mkdtemp(prefix=f"kiln-{name}-v{version.version}-"))
    with _quiet_pyfunc():
        local = Path(download_artifacts(artifact_uri=f"{version.source}/artifacts",
                                        dst_path=str(target)))
    return next(local.iterdir())


# --------------------------------------------------------------------------- helpers


@contextmanager
def _quiet_pyfunc() -> Iterator[None]:
    """Without MLflow's progress bars and its warning that it cannot infer a signature
    (on purpose: see `register`)."""
    logger = logging.getLogger("mlflow.pyfunc")
    level = logger.level
    logger.setLevel(logging.ERROR)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    try:
        yield
    finally:
        logger.setLevel(level)


def _client() -> MlflowClient:
    from kiln.tracking import client

    return client()


def _check_name(name: str) -> None:
    if not name or not name.strip() or "/" in name or "@" in name or ":" in name:
        raise RegistryError(f"model name {name!r}: use a plain name such as 'digits' "
                            f"(no '/', '@' or ':')")


def _quoted(name: str) -> str:
    return name.replace("'", "\\'")


def _is_missing(exc: Exception) -> bool:
    return getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST"


def _model(mlflow_client: MlflowClient, name: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return mlflow_client.get_registered_model(name)
    except MlflowException as exc:
        if not _is_missing(exc):
            raise
    names = [m.name for m in mlflow_client.search_registered_models()]
    raise RegistryError(f"no registered model {name!r}{did_you_mean(name, names)} — register "
                        f"a bundle with `kiln registry register BUNDLE --name {name}`"
                        f" (registered: {', '.join(sorted(names)) or 'none'})")


def _version(mlflow_client: MlflowClient, name: str, version: int | str) -> ModelVersion:
    from mlflow.exceptions import MlflowException

    if not str(version).isdigit():
        raise RegistryError(f"{name}: version {version!r} is not a number")
    try:
        return mlflow_client.get_model_version(name, str(int(version)))
    except MlflowException as exc:
        if not _is_missing(exc):
            raise
    existing = sorted(int(v.version) for v in
                      mlflow_client.search_model_versions(f"name = '{_quoted(name)}'"))
    raise RegistryError(f"{name} has no version {version} (versions: "
                        f"{', '.join(map(str, existing)) or 'none'}) — see "
                        f"`kiln registry list {name}`")


def _ensure_model(mlflow_client: MlflowClient, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        mlflow_client.create_registered_model(
            name, description="kiln production bundles; aliases champion / challenger")
    except MlflowException as exc:
        if getattr(exc, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
            raise


def _alias_target(model: Any, alias: str) -> int | None:
    version = (model.aliases or {}).get(alias)
    return int(version) if version is not None else None


def _record(mlflow_client: MlflowClient, name: str, action: str, alias: str, version: int,
            previous: int | None) -> dict[str, Any]:
    entry = {"at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
             "action": action, "alias": alias, "version": version, "previous": previous}
    entries = [*history(name), entry][-HISTORY_KEEP:]
    mlflow_client.set_registered_model_tag(name, HISTORY_TAG, json.dumps(entries))
    return entry


def _scores(metrics: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The numeric val/test metrics of a bundle's metrics.json."""
    return {split: {k: float(v) for k, v in scores.items()
                    if isinstance(v, (int, float)) and not isinstance(v, bool)}
            for split, scores in metrics.items()
            if split in ("val", "test") and isinstance(scores, dict)}


def _log_scores(mlflow_client: MlflowClient, run_id: str, metrics: dict[str, Any]) -> None:
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    items = [Metric(f"{split}_{key}", value, now, 0)
             for split, scores in _scores(metrics).items() for key, value in scores.items()]
    if items:
        mlflow_client.log_batch(run_id, metrics=items)


def _info(version: ModelVersion, aliases: dict[int, list[str]]) -> VersionInfo:
    tags = version.tags or {}
    created = datetime.fromtimestamp(version.creation_timestamp / 1000, timezone.utc)
    return VersionInfo(
        name=version.name, version=int(version.version),
        aliases=sorted(aliases.get(int(version.version), [])),
        created=created.isoformat(timespec="seconds"),
        source_run=tags.get("kiln.source_run"), variant=tags.get("kiln.variant"),
        metrics=json.loads(tags.get("kiln.metrics", "{}")),
        bundle_sha256=tags.get("kiln.bundle_sha256"), mlflow_run_id=version.run_id,
        status=str(version.status))
