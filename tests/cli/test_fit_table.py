"""CLI tables fit the terminal: columns drop or wrap, an id or a status is never cut."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from kiln.cli.fit_table import Column, fit_table

COLUMNS = [Column("id", keep=True), Column("created", priority=2),
           Column("status", keep=True), Column("objective (val)", priority=3),
           Column("test", priority=0)]
ROWS = [["digits_cnn-20261202-004318-c386", "2026-12-02 00:43", "interrupted",
         "accuracy 0.9632", "accuracy 0.958 · roc_auc 0.998 · f1_macro 0.957"]]


@pytest.mark.parametrize("width", [40, 60, 80, 120, 200])
def test_the_table_fits_and_never_cuts_id_or_status(width: int) -> None:
    console = Console(file=io.StringIO(), width=width)
    console.print(fit_table("runs", COLUMNS, ROWS, console))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "…" not in text
    assert "interrupted" in text  # the status is never cut or wrapped
    assert max(len(line.rstrip()) for line in text.splitlines()) <= width
    if width >= 60:
        assert "digits_cnn-20261202-004318-c386" in text  # nor the id, where it fits
    if width >= 200:
        assert "roc_auc 0.998" in text and "not shown" not in text
    if width == 60:
        assert "not shown at 60 columns" in text
