"""kiln's errors: one small hierarchy, messages written for the person at the keyboard.

Every message says what went wrong, where (file, key path, column, row) and what to do.
The CLI prints a `KilnError` as one red line and exits non-zero; the service turns it into
a 4xx JSON body. Anything that is not a `KilnError` is a bug in kiln and keeps its traceback.
"""

from __future__ import annotations


class KilnError(Exception):
    """Base class of every error a user can cause and fix."""

    exit_code = 2


class BlueprintError(KilnError):
    """The blueprint file is unreadable, invalid, or names something that does not exist."""


class PluginError(BlueprintError):
    """A plugin file or a model class named by the blueprint cannot be imported."""


class ShapeError(KilnError):
    """A block cannot take the shape its predecessor produces."""


class DataError(KilnError):
    """The data does not match the blueprint, or fails a check that stops a run."""


class RunError(KilnError):
    """A run, checkpoint or artifact is missing, incomplete or fails its checksum."""


class BudgetError(KilnError):
    """A model or variant breaks a budget of the blueprint."""

    exit_code = 1


class BundleError(KilnError):
    """A production bundle is missing a file, has been modified, or is malformed."""


def did_you_mean(word: str, choices: list[str] | tuple[str, ...] | set[str]) -> str:
    """Return ' — did you mean "x"?' for the closest choice, or '' when nothing is close."""
    import difflib

    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f' — did you mean "{close[0]}"?' if close else ""
