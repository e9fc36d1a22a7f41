"""Importing this module registers every command on `kiln.cli.app.app`."""

from kiln.cli import design_cmd  # noqa: F401
