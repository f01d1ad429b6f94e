"""Progress bars for long commands: one rich bar per stage, on stderr, from its first report."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

Report = Callable[[str, int, int], None]


def _quiet(stage: str, done: int, total: int) -> None:
    return None


@contextmanager
def progress_bar(*, transient: bool = False) -> Iterator[Report]:
    """A ``report(stage, done, total)`` callback drawing bars on stderr when it is a terminal.

    Bars start lazily, so a command refused before any work prints its one error line alone;
    when stderr is not a terminal (CI, pipes) nothing is drawn.
    """
    console = Console(stderr=True)
    if not console.is_terminal:
        yield _quiet
        return
    bar = Progress(
        TextColumn("{task.description:12}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=transient,
    )
    tasks: dict[str, Any] = {}

    def report(stage: str, done: int, total: int) -> None:
        if not tasks:
            bar.start()
        if stage not in tasks:
            tasks[stage] = bar.add_task(stage, total=total)
        bar.update(tasks[stage], completed=done, total=total)

    try:
        yield report
    finally:
        if tasks:
            bar.stop()
