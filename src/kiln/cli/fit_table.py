"""Tables that fit the terminal: drop the least useful columns, wrap the rest, never cut.

Rich squeezes every column of a table that is too wide, and a `no_wrap` cell squeezed below
its length ends in "…" — at 80 columns `kiln runs` showed a status of "…". Here each column
says how it may give way: `keep` columns (an id, a status) always show whole; the others
wrap, and when even wrapped they cannot fit, whole columns go, lowest `priority` first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

WRAP_MIN = 10  # the narrowest a wrapping column is allowed to become
CELL_OVERHEAD = 3  # a border and a space each side of every cell


@dataclass(frozen=True)
class Column:
    """`keep`: shown whole, never wrapped or dropped. `priority`: higher stays longer."""

    header: str
    keep: bool = False
    priority: int = 0


def _plain(cell: str) -> str:
    from rich.text import Text

    return Text.from_markup(cell).plain


def _need(column: Column, cells: Sequence[str]) -> int:
    """The narrowest this column can be: its longest cell when kept whole, else the
    longest word (or WRAP_MIN, whichever is smaller) — and never below its header's words."""
    texts = [_plain(c) for c in cells]
    if column.keep:
        return max([len(column.header), *(len(t) for t in texts)])
    words = [len(w) for t in [column.header, *texts] for w in t.split()] or [1]
    return min(max(words), WRAP_MIN)


def fit_table(title: str, columns: Sequence[Column], rows: Sequence[Sequence[str]],
              console: Console) -> Table:
    """A Rich table of `rows` that fits `console.width` (see the module docstring)."""
    from rich.table import Table

    shown = list(range(len(columns)))
    needs = [_need(c, [row[i] for row in rows]) for i, c in enumerate(columns)]

    def width() -> int:
        return sum(needs[i] + CELL_OVERHEAD for i in shown) + 1

    droppable = sorted((i for i, c in enumerate(columns) if not c.keep),
                       key=lambda i: (columns[i].priority, -i))
    while width() > console.width and droppable:
        shown.remove(droppable.pop(0))
    folded = set()
    if width() > console.width:  # a very narrow terminal: the widest kept column wraps
        widest = max(shown, key=lambda i: needs[i])
        needs[widest] = max(needs[widest] - (width() - console.width), WRAP_MIN)
        folded.add(widest)
    table = Table(title=title, title_justify="left")
    for i in shown:
        column = columns[i]
        if column.keep and i not in folded:
            table.add_column(column.header, no_wrap=True, min_width=needs[i])
        else:
            table.add_column(column.header, overflow="fold", min_width=needs[i])
    for row in rows:
        table.add_row(*(row[i] for i in shown))
    dropped = [columns[i].header for i in range(len(columns)) if i not in shown]
    if dropped:
        table.caption = f"not shown at {console.width} columns: {', '.join(dropped)} (--json)"
    return table
