"""Positioned problems: the one error type every stage reports.

Input: whatever a stage finds wrong. Output: ``SiteError`` values carrying the
file (relative to the site root), the 1-based line and the German message an
editor reads. Stages collect them in lists; ``BuildFailed`` carries a whole list
across the stage boundary to ``cli.py``, the only place that prints them.
Modelled on Hugo's ``FileError``/``text.Position``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True, order=True)
class SiteError:
    """One problem at one place. ``line`` is 1-based; 0 means "the whole file"."""

    path: str
    line: int
    message: str
    severity: Severity = Severity.ERROR

    def __str__(self) -> str:
        location = f"{self.path}:{self.line}" if self.line > 0 else self.path
        prefix = "Warnung: " if self.severity is Severity.WARNING else ""
        return f"{location}: {prefix}{self.message}"

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


def warning(path: str, line: int, message: str) -> SiteError:
    return SiteError(path, line, message, Severity.WARNING)


def sort_problems(problems: Iterable[SiteError]) -> list[SiteError]:
    """Stable, de-duplicated order: by path, line, then message."""
    return sorted(set(problems), key=lambda p: (p.path, p.line, p.message, p.severity.value))


class BuildFailed(Exception):
    """A stage found errors; nothing has been written."""

    def __init__(self, problems: Iterable[SiteError]) -> None:
        self.problems = sort_problems(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
