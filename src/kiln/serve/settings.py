"""What one `kiln serve` process runs with: the blueprint's `serve` section plus flags.

`ServeSettings.from_spec(spec, **overrides)` is the one place flags meet the blueprint:
a flag given on the command line (not None) wins over the section.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from kiln.blueprint.load import format_validation_error
from kiln.blueprint.serve_spec import ServeSpec
from kiln.errors import BlueprintError
from kiln.files import kiln_home


@dataclass(frozen=True)
class ServeSettings:
    """Every setting of the service; see docs/serve.md for each one's meaning."""

    max_batch_rows: int = 64
    max_wait_ms: float = 2.0
    max_queue_rows: int = 2048
    timeout_ms: float = 2000.0
    max_body_bytes: int = 4 * 1024 * 1024
    max_rows_per_request: int = 1024
    max_image_pixels: int = 4096 * 4096
    threads: int = 1
    ood_policy: str = "flag"
    fallback_bundle: str | None = None
    ood_z: float = 6.0
    low_confidence_quantile: str = "0.01"
    log: str | None = None
    flush_ms: float = 200.0
    follow_s: float = 0.0
    monitor_s: float = 60.0
    monitor_window_s: float = 3600.0
    # Not in the blueprint: they belong to one deployment, not to the model.
    admin_token: str | None = None
    no_admin: bool = False
    model_name: str | None = None
    model_version: str | None = None
    log_enabled: bool = True
    # "module:function" that checks the log for the status page and /metrics
    # (`kiln serve` sets kiln.monitor.service:service_watch); None: no monitor checks.
    watcher: str | None = None
    # A second bundle or models:/ ref run on the same records off the request path; its
    # answers are logged as shadow rows (docs/serve.md, shadow mode).
    shadow: str | None = None

    @classmethod
    def from_spec(cls, spec: ServeSpec | None = None, **overrides: Any) -> ServeSettings:
        """The section's values, then every override that is not None (validated again)."""
        values = (spec or ServeSpec()).model_dump()
        section = {k: v for k, v in overrides.items() if k in values and v is not None}
        try:
            checked = ServeSpec(**{**values, **section}).model_dump()
        except ValueError as exc:
            raise BlueprintError(_first_problem(exc, {**values, **section}), where="serve"
                                 ) from None
        rest = {k: v for k, v in overrides.items() if k not in values and v is not None}
        unknown = set(rest) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"unknown serve settings: {sorted(unknown)}")
        return cls(**checked, **rest)

    def with_env(self) -> ServeSettings:
        """Fill the admin token from $KILN_ADMIN_TOKEN when no token was given."""
        if self.admin_token is None and os.environ.get("KILN_ADMIN_TOKEN"):
            return dataclasses.replace(self, admin_token=os.environ["KILN_ADMIN_TOKEN"])
        return self

    def log_path(self) -> Path:
        if self.log:
            return Path(self.log)
        return kiln_home() / "predictions.db"


def _first_problem(exc: ValueError, raw: Any) -> str:
    """`serve.<key>: …` through the blueprint's one formatter of pydantic errors."""
    if isinstance(exc, ValidationError):
        return "serve." + format_validation_error(exc, raw, {})
    return str(exc)


def spec_from_bundle(path: str | Path) -> ServeSpec:
    """The `serve:` section of the blueprint inside a bundle (defaults when it has none)."""
    import yaml

    from kiln.bundle.manifest import read_files

    files = read_files(path)
    try:
        data = yaml.safe_load(files.get("blueprint.yaml", b"") or b"{}")
    except yaml.YAMLError:
        data = None
    section = data.get("serve") if isinstance(data, dict) else None
    try:
        return ServeSpec(**section) if isinstance(section, dict) else ServeSpec()
    except ValueError as exc:
        raise BlueprintError(f"bundle {path}: blueprint.yaml " + _first_problem(exc, section),
                             where="serve") from None
