"""kiln's errors: one small hierarchy, messages written for the person at the keyboard.

Every message says what went wrong, where (file, key path, column, row) and what to do.
Each kind carries the exit code the CLI uses and the HTTP status the service answers with;
`kiln.cli` prints a `KilnError` as one red line (or one JSON line with `--json`) and the
service turns it into a 4xx JSON body. Anything that is not a `KilnError` is a bug in kiln
and keeps its traceback.
"""

from __future__ import annotations

from typing import Any


class KilnError(Exception):
    """Base class of every error a user can cause and fix.

    `exit_code`: the CLI's exit status. `http_status`: the service's answer. `where`: the
    file, key path, field or record the error is about, when one is known (the message
    names it too; the attribute is for programs: `--json` and the service's `field`).
    """

    exit_code = 2
    http_status = 400
    kind = "error"

    def __init__(self, message: str, *, where: str | None = None,
                 details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.where = where
        self.details = details or {}

    def to_dict(self) -> dict[str, Any]:
        """The `--json` failure object: `{"error", "kind", "where"}`, plus any `details`
        the command attached (e.g. the variants table of a compress that broke a budget)."""
        return {**self.details, "error": str(self), "kind": self.kind, "where": self.where}


class BlueprintError(KilnError):
    """The blueprint file is unreadable, invalid, or names something that does not exist."""

    kind = "blueprint"
    http_status = 422


class PluginError(BlueprintError):
    """A plugin file or a model class named by the blueprint cannot be imported."""

    kind = "plugin"


class ShapeError(KilnError):
    """A block cannot take the shape its predecessor produces."""

    kind = "shape"
    http_status = 422


class DataError(KilnError):
    """The data does not match the blueprint, or fails a check that stops a run."""

    kind = "data"
    http_status = 422


class ChecksFailed(DataError):
    """At least one data check is an error; `checks` holds the full table."""

    kind = "data_checks"

    def __init__(self, message: str, checks: list[Any], *, where: str | None = None) -> None:
        super().__init__(message, where=where)
        self.checks = checks


class RunError(KilnError):
    """A run, checkpoint or artifact is missing, incomplete or fails its checksum."""

    kind = "run"
    http_status = 404


class TrainingError(RunError):
    """Training cannot go on (a non-finite loss or gradient); the run is marked failed."""

    kind = "training"
    http_status = 422


class BudgetError(KilnError):
    """A model or variant breaks a budget of the blueprint."""

    exit_code = 1
    kind = "budget"
    http_status = 422


class ParityError(KilnError):
    """An exported model does not compute what the PyTorch model computes."""

    exit_code = 1
    kind = "parity"
    http_status = 422


class BundleError(KilnError):
    """A production bundle is missing a file, has been modified, or is malformed — or a
    record sent to it does not fit its signature (then `where` names record and field)."""

    kind = "bundle"
    http_status = 422


class RegistryError(KilnError):
    """A registered model, version or alias that does not exist, or a move not possible."""

    kind = "registry"
    http_status = 404


class MissingExtraError(KilnError):
    """A command needs an optional dependency group that is not installed."""

    kind = "missing_extra"
    http_status = 501


class ServiceError(KilnError):
    """A `kiln serve` process that a command started itself (`kiln demo`) did not start,
    or answered with an error."""

    exit_code = 1
    kind = "service"
    http_status = 502


def require(module: str, extra: str) -> None:
    """Raise `MissingExtraError` naming `pip install 'kiln[extra]'` when `module` is absent."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingExtraError(
            f"this needs {module}, which is not installed — install it with "
            f"pip install 'kiln[{extra}]' (or 'kiln[all]')", where=module)


def did_you_mean(word: str, choices: list[str] | tuple[str, ...] | set[str]) -> str:
    """Return ' — did you mean "x"?' for the closest choice, or '' when nothing is close."""
    import difflib

    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f' — did you mean "{close[0]}"?' if close else ""
