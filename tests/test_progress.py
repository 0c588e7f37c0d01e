"""Progress of long builds: plain lines in logs, a bar on a terminal, nothing for small builds."""

from __future__ import annotations

import io

import pytest

from kldigital_site.progress import BuildProgress


def test_a_log_gets_one_plain_line_per_tenth(capsys: pytest.CaptureFixture[str]) -> None:
    with BuildProgress() as progress:
        for done in range(1, 10_001):
            progress("render", done, 10_000)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "Seiten erzeugen: 1 von 10.000"
    assert lines[-1] == "Seiten erzeugen: 10.000 von 10.000"
    assert len(lines) == 11


def test_small_builds_show_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    with BuildProgress() as progress:
        for done in range(1, 51):
            progress("render", done, 50)
    assert capsys.readouterr().err == ""


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_terminal_gets_a_bar_that_is_gone_at_the_end(monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("NO_COLOR", raising=False)
    with BuildProgress() as progress:
        for done in range(1, 1001):
            progress("render", done, 1000)
    written = terminal.getvalue()
    assert "Seiten erzeugen: " not in written  # no plain lines on a terminal
    assert "Seiten erzeugen" in written and "1000/1000" in written  # the bar, at its end
    assert written.endswith("\x1b[1A\x1b[2K")  # transient: the bar is erased when done
