"""Positioned problems, and the one way a stage hands them back.

Input: whatever a stage finds wrong. Output: ``SiteError`` values carrying the
file (relative to the site root), the 1-based line and the German message an
editor reads (modelled on Hugo's ``FileError``/``text.Position``).

The convention: every stage returns ``Staged(value, problems)`` — what it made
of the input it could use, and every error and warning it found — and never
raises for bad input (MkDocs' ``validate()`` returns its errors and warnings
the same way). ``build.py`` passes each result through one ``Problems`` log,
whose ``go_on()`` is the only place that decides whether the build continues
to write; it raises ``BuildFailed``, which carries the whole list to ``cli.py``,
the only place that prints them. ``BuildFailed`` is raised elsewhere only where there is
no input to go on with and nothing to return: unreadable settings
(``config.load_config``, before any stage runs), an output or work folder that
cannot be used, and the operating system or Pagefind failing while the output
is written.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

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


@dataclass(frozen=True, slots=True)
class Staged(Generic[T_co]):
    """What a stage made, and the problems it found on the way."""

    value: T_co
    problems: tuple[SiteError, ...] = ()

    @property
    def has_errors(self) -> bool:
        """With errors, the value is what could still be made (the stage says what)."""
        return any(p.is_error for p in self.problems)


class Problems:
    """Every problem one build has found so far; ``go_on`` decides whether it continues."""

    def __init__(self, *, strict: bool = False) -> None:
        self._found: list[SiteError] = []
        self._strict = strict

    def take(self, staged: Staged[T]) -> T:
        """The stage's value; its problems are kept."""
        self._found.extend(staged.problems)
        return staged.value

    def add(self, problems: Iterable[SiteError]) -> None:
        self._found.extend(problems)

    @property
    def warnings(self) -> list[SiteError]:
        return sort_problems(p for p in self._found if not p.is_error)

    @property
    def has_errors(self) -> bool:
        return any(p.is_error for p in self._found)

    def go_on(self) -> None:
        """Raise ``BuildFailed`` if an error was found (with ``--strict``, a warning)."""
        if self.has_errors:
            # The warnings wait: they are shown with a build that went through.
            raise BuildFailed(p for p in self._found if p.is_error)
        if self._strict and self._found:
            raise BuildFailed(
                SiteError(w.path, w.line, f"{w.message} (--strict: Warnungen gelten als Fehler)")
                for w in self._found
            )


# What the operating system says, in German: its own texts are English.
_OS_REASONS = {
    errno.ENOSPC: "Der Datenträger ist voll",
    errno.EDQUOT: "Das Speicherkontingent auf dem Datenträger ist erschöpft",
    errno.EACCES: "Keine Berechtigung",
    errno.EPERM: "Keine Berechtigung",
    errno.EROFS: "Der Datenträger ist schreibgeschützt",
    errno.ENOENT: "Ein Ordner wurde während des Bauens gelöscht oder umbenannt",
    errno.EIO: "Lese- oder Schreibfehler des Datenträgers",
    errno.EMFILE: "Zu viele offene Dateien",
}


def os_reason(exc: OSError) -> str:
    """Why reading or writing failed, in German where the error is a common one."""
    return _OS_REASONS.get(exc.errno or 0, exc.strerror or str(exc))


def os_problem(exc: OSError, root: str) -> SiteError:
    """An operating-system error while reading or writing, naming the folder it hit."""
    reason = os_reason(exc)
    name = exc.filename if isinstance(exc.filename, str) else None
    folder = os.path.dirname(name) if name and not os.path.isdir(name) else name
    where = folder or root
    if where.startswith(root.rstrip(os.sep) + os.sep):
        where = where[len(root.rstrip(os.sep)) + 1 :]
    return SiteError(
        where,
        0,
        f"{reason} ({os.path.basename(name) if name else 'beim Lesen oder Schreiben'}). "
        "Bitte Platz schaffen bzw. Rechte und Ordner prüfen und neu bauen.",
    )
