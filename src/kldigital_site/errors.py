"""Positioned problems: the one error type every stage reports.

Input: whatever a stage finds wrong. Output: ``SiteError`` values carrying the
file (relative to the site root), the 1-based line and the German message an
editor reads. Stages collect them in lists; ``BuildFailed`` carries a whole list
across the stage boundary to ``cli.py``, the only place that prints them.
Modelled on Hugo's ``FileError``/``text.Position``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

# A problem is one line of output: tools (and editors' IDEs) parse `path:line: message`.
# Line breaks in quoted keys or values become spaces; other control characters, from
# file names or YAML escapes, are shown escaped, never sent to the terminal.
_LINE_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")


def _one_line(text: str) -> str:
    text = _LINE_BREAKS.sub(" ", text)
    return _CONTROLS.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


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
        path = _one_line(self.path)
        location = f"{path}:{self.line}" if self.line > 0 else path
        prefix = "Warnung: " if self.severity is Severity.WARNING else ""
        return f"{location}: {prefix}{_one_line(self.message)}"

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
