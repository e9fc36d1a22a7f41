"""kiln's command line. Each stage registers its verbs from its own module."""

from __future__ import annotations

import sys
from typing import Any

from kiln.errors import KilnError, MissingExtraError

# A heavy library → the extra that installs it (`pip install 'kiln[EXTRA]'`).
EXTRA_OF = {"torch": "train", "onnx": "train", "safetensors": "train", "sklearn": "train",
            "pandas": "train", "pyarrow": "train", "matplotlib": "train",
            "torch_pruning": "train", "mlflow": "registry", "optuna": "tune",
            "scipy": "monitor", "fastapi": "serve", "uvicorn": "serve",
            "prometheus_client": "serve", "PIL": "serve"}


def main(argv: list[str] | None = None) -> None:
    """Entry point of the `kiln` console script.

    The one place where a user error becomes output: one red line on stderr (what, where,
    how to fix) and the error's exit code; with `--json`, also one JSON object
    `{"error", "kind", "where"}` as the last line of stdout. A missing optional dependency
    names the extra to install. Anything else is a bug and keeps its traceback.
    """
    from kiln.cli import commands  # noqa: F401  (registers every command)
    from kiln.cli.app import app

    args = list(sys.argv[1:] if argv is None else argv)
    try:
        app(args=args, prog_name="kiln")
    except KilnError as exc:
        _report(exc, json_out="--json" in args)
    except ModuleNotFoundError as exc:
        root = (exc.name or "").split(".")[0]
        if root not in EXTRA_OF:
            raise
        _report(MissingExtraError(
            f"this command needs {root}, which is not installed — install it with "
            f"pip install 'kiln[{EXTRA_OF[root]}]' (or 'kiln[all]')", where=root),
            json_out="--json" in args)
    except KeyboardInterrupt:
        from kiln.cli.app import err_console

        err_console.print("[yellow]interrupted[/]")
        sys.exit(130)


def _report(exc: KilnError, *, json_out: bool) -> None:
    from rich.markup import escape

    from kiln.cli.app import err_console, print_json

    err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
    if json_out:
        payload: dict[str, Any] = exc.to_dict()
        print_json(payload)
    sys.exit(exc.exit_code)
