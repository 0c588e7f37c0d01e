"""The forked child that checks the trees beside the build (forked.py)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kldigital_site.forked import Forked


def test_parts_arrive_in_order_and_none_is_a_part() -> None:
    child = Forked.start(lambda: iter([["a", "b\nc"], None, {"x": 1}]))
    assert child is not None
    assert child.part() == (["a", "b\nc"],)
    assert child.part() == (None,)
    assert child.part() == ({"x": 1},)
    assert child.part() is None, "no more parts"
    child.close()


def test_a_failing_child_gives_the_parts_before_and_then_none() -> None:
    def parts() -> Iterator[object]:
        yield 1
        raise OSError("gone")

    child = Forked.start(parts)
    assert child is not None
    assert child.part() == (1,)
    assert child.part() is None
    assert child.part() is None, "the caller does the work itself from here on"


def test_close_ends_a_child_still_at_work(tmp_path: Path) -> None:
    marker = tmp_path / "done"

    def slow() -> Iterator[object]:
        time.sleep(30)
        marker.write_text("zu spät")
        yield 1

    child = Forked.start(slow)
    assert child is not None
    pid = child._pid
    assert pid is not None
    started = time.monotonic()
    child.close()
    assert time.monotonic() - started < 5
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reaped: no zombie left
    assert not marker.exists()


def test_a_child_started_nicer_runs_at_lower_priority() -> None:
    # The tree checker yields the core to the search indexing the build waits for
    # (output.py ``CHECK_NICENESS``).
    own = os.nice(0)
    child = Forked.start(lambda: iter([os.nice(0)]), nice=3)
    plain = Forked.start(lambda: iter([os.nice(0)]))
    assert child is not None and plain is not None
    assert child.part() == (min(own + 3, 19),)
    assert plain.part() == (own,)
    child.close()
    plain.close()
