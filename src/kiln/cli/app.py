"""The Typer application every command module registers on. Keep imports here light:
`kiln --help` must not import torch, MLflow or ONNX Runtime."""

from __future__ import annotations

import json
import sys
from typing import Any

import typer
from rich.console import Console

app = typer.Typer(
    name="kiln",
    help="kiln: a custom deep-learning architecture from concept to production.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # paragraphs of a docstring reflow to the terminal
)

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

JSON_HELP = "Print one JSON object as the last line (for scripts and CI)."


def print_json(payload: dict[str, Any]) -> None:
    """The `--json` contract: one JSON object on the last line of stdout."""
    sys.stdout.flush()
    print(json.dumps(payload, default=str, separators=(",", ":")), flush=True)


@app.callback()
def _root() -> None:
    """kiln: design, train, tune, compress, ship, watch and retrain a custom model."""
