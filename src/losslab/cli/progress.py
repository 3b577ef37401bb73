"""A progress bar for long library calls, shown only where a person is watching."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

from rich.console import Console


@contextlib.contextmanager
def progress_bar(enabled: bool | None = None) -> Iterator[Callable[[str], Any]]:
    """A rich progress bar with ETA on stderr, only when stderr is a terminal.

    Yields `track(description)` -> a callback (done, total) for the library (or None when
    there is no terminal: the library then skips reporting)."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield lambda description: None
        return
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    ) as bar:

        def track(description: str) -> Callable[[int, int], None]:
            task = bar.add_task(description, total=None)

            def update(done: int, total: int) -> None:
                bar.update(task, completed=done, total=total)

            return update

        yield track
