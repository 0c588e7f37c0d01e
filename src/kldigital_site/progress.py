"""Progress of long builds for the terminal: a bar on a TTY, plain lines elsewhere.

Input: ``(stage, done, total)`` calls from ``build()``. Output: a rich progress
bar on stderr when it is a terminal; otherwise one line per tenth of the work,
so logs of scheduled builds stay readable. Small builds show nothing.
"""

from __future__ import annotations

import sys
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.progress import Progress

# Below this many pages a build is over before a bar would be worth drawing.
MIN_PAGES_FOR_PROGRESS = 500

_STAGE_LABELS = {"render": "Seiten erzeugen"}


class BuildProgress:
    def __init__(self) -> None:
        # rich is imported only for a bar: a build that finds nothing to do, or one
        # whose output goes to a log, is over sooner without loading it (~40 ms).
        self._terminal = sys.stderr.isatty()
        self._bar: Progress | None = None
        self._task: object = None
        self._last_tenth = -1

    def __enter__(self) -> BuildProgress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.stop()

    def __call__(self, stage: str, done: int, total: int) -> None:
        if total < MIN_PAGES_FOR_PROGRESS:
            return
        label = _STAGE_LABELS.get(stage, stage)
        if self._terminal:
            if self._bar is None:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                )

                self._bar = Progress(
                    TextColumn("{task.description}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=Console(stderr=True),
                    transient=True,
                )
                self._bar.start()
                self._task = self._bar.add_task(label, total=total)
            self._bar.update(self._task, completed=done)  # type: ignore[arg-type]
            return
        tenth = done * 10 // total
        if tenth != self._last_tenth:
            self._last_tenth = tenth
            done_text = f"{done:,}".replace(",", ".")
            total_text = f"{total:,}".replace(",", ".")
            print(f"{label}: {done_text} von {total_text}", file=sys.stderr, flush=True)
