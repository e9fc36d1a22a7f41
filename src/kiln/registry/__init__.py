"""The model registry (MLflow): register bundles as versions, promote aliases
(`champion`, `challenger`), roll back with the history kept, list versions with metrics.

MLflow is imported by the functions, not by this package: `kiln --help` stays fast.
"""

from __future__ import annotations

from kiln.registry.store import (
    ALIASES,
    RegistryError,
    VersionInfo,
    bundle_path,
    history,
    list_versions,
    promote,
    register,
    rollback,
)

__all__ = ["ALIASES", "RegistryError", "VersionInfo", "bundle_path", "history",
           "list_versions", "promote", "register", "rollback"]
