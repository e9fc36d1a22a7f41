"""kiln's command line. Each stage registers its verbs from its own module."""

from __future__ import annotations

import sys

from kiln.errors import KilnError


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `kiln` console script: user errors become one red line."""
    from rich.markup import escape

    from kiln.cli import commands  # noqa: F401  (registers every command)
    from kiln.cli.app import app, err_console

    try:
        app(args=argv, prog_name="kiln")
    except KilnError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        err_console.print("[yellow]interrupted[/]")
        sys.exit(130)
