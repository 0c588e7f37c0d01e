"""Would this save break the build? The build itself answers, on a copy.

Input: the site's content and templates folders and the planned changes (a
path inside ``content/`` → its new bytes, or None for a deletion). Output: the
problems the change would cause, exactly as ``check`` reports them
(``content/presse/x.md:3: …``), or an empty list.

The candidate is a copy of ``content/`` under ``.kldigital-cache/cms/`` made
of hard links (cheap even at 10,000 files), with the changed files written as
new files, built with ``write=False``. Running the real build, not a second
validator, is what makes the message the build's own; problems the site had
before the change are not the change's fault and do not refuse it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path

from kldigital_site.build import build
from kldigital_site.cache import CACHE_DIR_NAME
from kldigital_site.config import load_config
from kldigital_site.errors import BuildFailed, SiteError, sort_problems

Changes = Mapping[str, bytes | None]  # content-relative path ("presse/x.md") → bytes

# One candidate build at a time: two editors saving at once would otherwise
# build two copies side by side on a machine that also runs the preview.
_LOCK = threading.Lock()


def problems_of_change(content_dir: Path, templates_dir: Path, changes: Changes) -> list[SiteError]:
    """The build's errors that the change would add to the site."""
    with _LOCK:
        after = _candidate_problems(content_dir, templates_dir, changes)
        if not after:
            return []
        before = {str(p) for p in _candidate_problems(content_dir, templates_dir, {})}
        return [p for p in after if str(p) not in before]


def _candidate_problems(
    content_dir: Path, templates_dir: Path, changes: Changes
) -> list[SiteError]:
    content_dir = content_dir.resolve()
    work = content_dir.parent / CACHE_DIR_NAME / "cms"
    work.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="check-", dir=work))
    try:
        copy = root / content_dir.name
        _link_tree(content_dir, copy)
        for rel, data in changes.items():
            target = copy / rel
            if target.is_symlink() or target.exists():
                target.unlink()  # a hard link: writing into it would change the original
            if data is not None:
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
        try:
            config = load_config(copy, templates_dir, root / "output", drafts=True, future=True)
            build(
                config,
                now=dt.datetime.now(dt.UTC),
                write=False,
                use_cache=False,
                jobs=1,
                search_index=False,
            )
        except BuildFailed as failed:
            return sort_problems(p for p in failed.problems if p.is_error)
        return []
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _link_tree(source: Path, target: Path) -> None:
    for folder, dirs, files in os.walk(source):
        rel = os.path.relpath(folder, source)
        out = target / rel if rel != "." else target
        out.mkdir(parents=True, exist_ok=True)
        for name in dirs:
            if os.path.islink(os.path.join(folder, name)):
                os.symlink(os.readlink(os.path.join(folder, name)), out / name)
        for name in files:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                os.symlink(os.readlink(path), out / name)
                continue
            try:
                os.link(path, out / name)
            except OSError:  # another file system, or no hard links: a copy then
                shutil.copy2(path, out / name)
