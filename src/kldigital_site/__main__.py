"""The command line's start: ``python -m kldigital_site`` and ``kldigital-site`` (``run``).

Input: the command line (cli.py reads it). Output: cli.py's exit code.

The cyclic garbage collector is off while cli.py and what it needs are imported:
the imports make thousands of objects that all stay (modules, classes, functions),
so the 40-odd collections they set off found nothing and cost 12-20 ms of the
~130 ms of CPU before a build begins (issue 15). What they made is then set aside
(``gc.freeze``) rather than walked by the next collection. cli.py keeps the
collector off during the build itself (``_few_collections``) and says why.
"""

from __future__ import annotations

import gc
from collections.abc import Callable


def run() -> None:
    cli_main()()


def cli_main() -> Callable[[], None]:
    """cli.py's ``main``, imported without collections; the collector as it was after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        from kldigital_site.cli import main
    finally:
        # What the imports made is set aside: the collector counts allocations while it
        # is off, and its first collection would walk all of it (a build makes it
        # collectable again as it starts, cli.py ``_few_collections``).
        gc.freeze()
        if enabled:
            gc.enable()
    return main


if __name__ == "__main__":
    run()
