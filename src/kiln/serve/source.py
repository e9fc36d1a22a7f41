"""Where the served bundle comes from: a folder or .zip, or a registry reference
`models:/name@alias` (or `models:/name/3`) resolved through `kiln.registry` — MLflow is
imported only for the latter."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from kiln.errors import RegistryError

REF = re.compile(r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/@]+)|/(?P<version>\d+))$")


@dataclass(frozen=True)
class RegistryRef:
    """A registered model at an alias (followed) or a fixed version."""

    name: str
    ref: str  # an alias, or a version number as text

    def __str__(self) -> str:
        return f"models:/{self.name}/{self.ref}" if self.ref.isdigit() \
            else f"models:/{self.name}@{self.ref}"


def parse_source(text: str | Path) -> Path | RegistryRef:
    """A path stays a path; `models:/...` becomes a `RegistryRef` (RegistryError if odd)."""
    if isinstance(text, Path) or not str(text).startswith("models:"):
        return Path(text)
    match = REF.match(str(text))
    if not match:
        raise RegistryError(f"{text!r}: a registry reference is models:/NAME@ALIAS or "
                            f"models:/NAME/VERSION", where=str(text))
    return RegistryRef(match["name"], match["alias"] or match["version"])


def current_version(ref: RegistryRef) -> str:
    """The version number the reference points at now (a registry round trip)."""
    if ref.ref.isdigit():
        return ref.ref
    from kiln.registry import list_versions

    for info in list_versions(ref.name):
        if ref.ref in info.aliases:
            return str(info.version)
    raise RegistryError(f"{ref.name}: no version is {ref.ref!r} — promote one with "
                        f"`kiln registry promote {ref.name} VERSION --alias {ref.ref}`",
                        where=str(ref))


def fetch(ref: RegistryRef, version: str) -> Path:
    """Download version `version` of the referenced model; its local bundle path."""
    from kiln.registry import bundle_path

    return bundle_path(ref.name, version)
