"""Live progress while training: a Rich bar with the epoch's metrics, or nothing (quiet)."""

from __future__ import annotations

from typing import Any, Protocol


class Progress(Protocol):
    def start(self, epochs: int, first_epoch: int, steps: int) -> None: ...
    def epoch_begins(self, epoch: int) -> None: ...
    def batch(self) -> None: ...
    def epoch_ends(self, record: dict[str, Any]) -> None: ...
    def close(self) -> None: ...


class Silent:
    """`quiet=True`: nothing is printed (CI, tuning trials, tests)."""

    def start(self, epochs: int, first_epoch: int, steps: int) -> None:
        pass

    def epoch_begins(self, epoch: int) -> None:
        pass

    def batch(self) -> None:
        pass

    def epoch_ends(self, record: dict[str, Any]) -> None:
        pass

    def close(self) -> None:
        pass


class RichProgress:
    """Two compact bars on stderr (epochs, with the best objective so far; batches of the
    current epoch) and one printed line per finished epoch above them, so the history stays
    on screen. stdout stays free for `--json`."""

    def __init__(self, label: str = "train") -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.label = label
        self.bars = Progress(
            TextColumn("{task.description}"), BarColumn(bar_width=24), MofNCompleteColumn(),
            TimeElapsedColumn(), TextColumn("{task.fields[note]}"),
            console=Console(stderr=True), transient=True,
        )
        self.epochs_task: Any = None
        self.batch_task: Any = None
        self.epochs = 0

    def start(self, epochs: int, first_epoch: int, steps: int) -> None:
        self.epochs = epochs
        self.bars.start()
        if first_epoch > 1:  # a resumed run: say where it picks up
            self.bars.console.print(f"{self.label}: resuming from epoch {first_epoch} of "
                                    f"{epochs} (checkpoint after epoch {first_epoch - 1})")
        self.epochs_task = self.bars.add_task(f"{self.label} epochs", total=epochs,
                                              completed=first_epoch - 1, note="")
        self.batch_task = self.bars.add_task("batches", total=steps, note="")

    def epoch_begins(self, epoch: int) -> None:
        self.bars.reset(self.batch_task, note=f"epoch {epoch}")

    def batch(self) -> None:
        self.bars.advance(self.batch_task)

    def epoch_ends(self, record: dict[str, Any]) -> None:
        val = record["val"]
        shown = [f"{k} {v:.4f}" for k, v in val.items() if k != "objective"][:4]
        width = len(str(self.epochs))
        self.bars.console.print(
            f"[dim]{self.label}[/] epoch {record['epoch']:>{width}}/{self.epochs} · "
            f"loss {record['train_loss']:.4f} · val " + " · ".join(shown)
            + f" [dim]({record['time']:.1f}s)[/]", highlight=False, soft_wrap=True)
        self.bars.update(self.epochs_task, advance=1,
                         note=f"objective {val.get('objective', float('nan')):.4f}")

    def close(self) -> None:
        self.bars.stop()


def make_progress(quiet: bool, label: str = "train") -> Progress:
    return Silent() if quiet else RichProgress(label)
