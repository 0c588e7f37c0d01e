"""Write the generated tree atomically: files → staging folder → ``output/``.

Input: the files of a successful render, added one by one (new bytes, a file
to copy, or "unchanged" with its digest). Output: a ``WriteReport`` of the
files written, left unchanged and removed.

The new tree is assembled in a staging folder beside ``output/`` and then
exchanged with it in one atomic ``renameat2(RENAME_EXCHANGE)``, so a build that
fails or is killed at any point leaves ``output/`` as the complete old site
(Lektor ``Artifact._commit``, at tree level). After the exchange the staging
folder holds the previous site; the next build brings it up to date by
touching only what differs, so an edit to one page costs a handful of file
operations even at 10,000 pages, not a copy of the tree. Unchanged files are
hard links to the very inode already published, so they are never rewritten.
A journal in the staging folder lists every path before it is touched, so a
killed build leaves nothing there that the next one would trust by mistake.
A file placed where staging holds one goes through a temporary file and a rename
(the one there may be a hard link to a published file); a new one, as every file
of a cold build, is created and written in place.

``output/`` holds the site and nothing else: the manifest of each tree (which
files the tool wrote, their digests, sizes and times) and the journal live in
the tool's work folder (``.kldigital-cache/trees/``), named after the folder's
inode. The exchange moves a folder's inode with its name, so the manifest
follows its tree atomically, without a file of the tool's inside the site.
A tree's manifest is stored as its difference from a base (a whole manifest
written once) that both trees share: an edit build reads one whole manifest, not
two, and writes a few lines, not 60,000 (issue 15). A new base is written when
the difference has grown to a sixteenth of the tree. The commit of an edit compares
only the paths it was given and those ``add_unchanged`` left out, and works the new
tree's key out from the published one's (``tree_key``): in proportion to the change.

Files the tool did not write survive every build; a non-empty folder the tool
did not create is refused.

A build from the command line leaves the check of both trees (a stat of every
published file, a listing of staging) to a forked child that runs while the build
parses (forked.py); only the paths found wanting come back. The child also looks
for the user's files in output/, and the build lists again only the folders
changed since (foreign_files.py). Without ``fork`` the build does both itself.
Each tree's listing is kept for the next build, which lists again only the
folders changed since (tree_listing.py).

A long-running process that alone writes one folder (the preview, serve/) hands
each of its writers the same ``TreeMemory``: the manifests of the published
tree and of staging as this process last wrote or verified them, so that the
next build need not read them back and verify 20,000 files with a stat each
(issue 15). Each is used only while its folder is still the one it was known
for (same inode); staging's is forgotten as soon as a build starts changing
staging, and made anew only by a commit that swaps.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import functools
import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, cast

from kldigital_site import manifest_base
from kldigital_site.errors import BuildFailed, SiteError
from kldigital_site.foreign_files import brought_up_to_date, look, walk
from kldigital_site.forked import Forked
from kldigital_site.tree_listing import Listing, files_with_inodes, list_tree
from kldigital_site.tree_listing import load as load_listing
from kldigital_site.tree_listing import store as store_listing

# Kept inside output/ by versions before 0.x; read once so an existing output/ stays
# the tool's, and left out of the next tree.
LEGACY_MANIFEST_NAME = ".kldigital-manifest.json"
_LEGACY_JOURNAL_NAME = ".kldigital-journal"
_TREES_DIR = "trees"
_MANIFEST_VERSION = 6
# A tree's record grows by what each build changes; past this share of the tree (plus a
# few files) a new base is written: a sixteenth of 60,000 files is read in 10 ms.
_DELTA_SHARE = 16
_DELTA_FLOOR = 256
# How much lower the child checking the trees runs than the build (``TreeWriter``): 10 of
# the 19 steps, so it still gets a tenth of a core busy with rendering workers.
CHECK_NICENESS = 10


@dataclass(frozen=True, slots=True)
class Output:
    """One file of the generated site: bytes to write, or a source file to copy."""

    path: str  # relative to the output folder
    data: bytes | None = None
    source: Path | None = None


@dataclass(frozen=True, slots=True)
class WriteReport:
    written: tuple[str, ...]
    unchanged: Sequence[str]  # sorted
    removed: tuple[str, ...]


class _Unchanged(Sequence[str]):
    """The files of a tree but ``changed`` (a part of them), sorted once they are listed:
    a build's report is mostly just counted (cli.py), and sorting 67,000 paths was
    ~10 ms of every edit build at 10,000 items (issue 15)."""

    __slots__ = ("_changed", "_files", "_listed")

    def __init__(self, files: Collection[str], changed: Collection[str]) -> None:
        self._files = files
        self._changed = changed
        self._listed: tuple[str, ...] | None = None

    def _list(self) -> tuple[str, ...]:
        if self._listed is None:
            changed = self._changed
            self._listed = tuple(sorted(rel for rel in self._files if rel not in changed))
        return self._listed

    def __len__(self) -> int:
        return len(self._files) - len(self._changed)

    def __getitem__(self, index: Any) -> Any:
        return self._list()[index]

    def __iter__(self) -> Iterator[str]:
        return iter(self._list())

    def __contains__(self, rel: object) -> bool:
        return rel in self._files and rel not in self._changed


@dataclass(frozen=True, slots=True)
class Manifest:
    files: dict[str, str]  # path → sha256 of what the tool wrote
    foreign: frozenset[str]  # files found in the folder that the tool did not write
    stats: dict[str, list[int]] = field(default_factory=dict)  # path → [size, mtime_ns, inode]
    damaged: bool = False  # unreadable, or naming paths outside its folder
    # The record this one is stored as a difference from (``Bookkeeping``), and the paths
    # whose entry (digest and stat, or its absence) may differ from that base's; "": none.
    base: str = ""
    delta: frozenset[str] = frozenset()
    # ``tree_key(files)`` as the record's writer worked it out; "": not known.
    tree: str = ""


# An empty, "." or ".." part, a backslash or a NUL. One regular expression: this runs
# for every path of every manifest read (60,000 at 10,000 pages).
_UNSAFE_PATH = re.compile(r"(?:^|/)\.{0,2}(?:/|$)|[\\\x00]")


def _is_plain_path(rel: str) -> bool:
    """A path inside its folder: relative, no "..", no empty part, no NUL."""
    return _UNSAFE_PATH.search(rel) is None


def _all_plain_paths(paths: Iterable[str]) -> bool:
    """``_is_plain_path`` for every path, at a fraction of the cost for 60,000 paths.

    Each path between two slashes: an empty, "." or ".." part, wherever it is in its
    path, is then "//", "/./" or "/../" in the whole. Substring searches, not the
    regular expression, which tried its alternatives at every one of the 3 million
    characters (0.16 s of a build that changes nothing at 10,000 items, issue 15); and
    few of them: one for a pair of the most common character, each ~2.3 ms over the
    67,000 paths of a manifest at 10,000 items (searches of a rarer one take 0.03 ms).
    A newline in a name (legal, if odd) is where the expression's "$" also matches:
    such a list, as any that a search finds suspect, is checked path by path."""
    listed = list(paths)
    slashed = "/" + "/".join(listed) + "/"
    if not listed or not (
        "//" in slashed
        or "\\" in slashed
        or "\x00" in slashed
        or "\n" in slashed
        or ("/." in slashed and ("/./" in slashed or "/../" in slashed))
    ):
        return True
    return all(map(_is_plain_path, listed))


# ``tree_key``'s form, before the hex of its sum: a key of another form (an older
# version's hash of the whole listing) is never taken for one of this.
_TREE_KEY_FORM = "sum1:"
_TREE_KEY_MODULUS = 1 << 256


def _file_term(path: str, digest: str) -> int:
    """One file's part of ``tree_key``: plain paths hold no NUL, digests are hex."""
    return int.from_bytes(hashlib.sha256(f"{path}\0{digest}".encode()).digest(), "big")


def _tree_key_of(total: int) -> str:
    return f"{_TREE_KEY_FORM}{total % _TREE_KEY_MODULUS:064x}"


def tree_key(digests: Mapping[str, str]) -> str:
    """What is published, as one hash: the cache's last build must be what output/ holds
    (a build with --no-cache, or another tool version, may have written it since).

    The sum (modulo 2**256) of a SHA-256 per file of its path and digest: a set hash
    (Bellare and Micciancio's AdHash), so that a build that changes a few files of
    67,000 works out the key of the new tree from that of the old one in proportion to
    what changed (``changed_tree_key``): the whole listing's hash was 50 ms of every
    edit build at 10,000 items (issue 15). Nobody picks the files to collide: the key
    tells a tree the cache knows from another one, it guards against no attacker (who
    could write output/ and the cache alike)."""
    return _tree_key_of(sum(map(_file_term, digests.keys(), digests.values())))


def changed_tree_key(
    key: str, before: Mapping[str, str], after: Mapping[str, str], paths: Iterable[str]
) -> str | None:
    """``tree_key(after)`` from ``key``, the ``tree_key`` of ``before``, where the two differ
    at most at ``paths`` (each named once); None for a key of another form."""
    if not key.startswith(_TREE_KEY_FORM):
        return None
    try:
        total = int(key[len(_TREE_KEY_FORM) :], 16)
    except ValueError:
        return None
    for path in paths:
        old, new = before.get(path), after.get(path)
        if old is not None:
            total -= _file_term(path, old)
        if new is not None:
            total += _file_term(path, new)
    return _tree_key_of(total)


def _stat_key(path: Path | str) -> list[int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return [info.st_size, info.st_mtime_ns, info.st_ino]


def _verified(
    folder: Path, manifest: Manifest, vouched: Mapping[str, list[int]] | None = None
) -> Manifest:
    """Only the files still exactly as the tool wrote them (``_untrusted``)."""
    return _without(manifest, _untrusted(folder, manifest, vouched))


def _untrusted(
    folder: Path, manifest: Manifest, vouched: Mapping[str, list[int]] | None = None
) -> list[str]:
    """The files of ``manifest`` no longer exactly as the tool wrote them.

    Published and staged files are hard links to one another, so a page truncated or
    edited in either place would otherwise count as unchanged, forever: size,
    modification time and inode, recorded at writing, must still match (as git's
    index does). ``vouched``: files of another folder on the same file system, just
    verified by a stat of their own; a file recorded with the same size, time and
    inode is that very file, unaltered, and is not looked at a second time.
    """
    vouched = vouched or {}
    stats = manifest.stats
    # Plain string paths and a loop without calls: this runs for every published file
    # on every build.
    prefix = f"{folder}{os.sep}"
    dropped: list[str] = []
    for rel in manifest.files:
        recorded = stats.get(rel)
        if recorded is None:
            dropped.append(rel)
        elif recorded != vouched.get(rel):
            try:
                info = os.stat(prefix + rel)
            except OSError:
                dropped.append(rel)
                continue
            if recorded != [info.st_size, info.st_mtime_ns, info.st_ino]:
                dropped.append(rel)
    return dropped


def _without(manifest: Manifest, dropped: Collection[str]) -> Manifest:
    """``manifest`` without the files ``dropped`` (``_untrusted``)."""
    stats = manifest.stats
    if not dropped and len(stats) == len(manifest.files):
        # Every file kept has its stat (``_untrusted`` drops one without), so the two
        # hold the same paths: nothing to copy (twice 67,000 entries per build, issue 15).
        return manifest
    if dropped:
        gone = set(dropped)
        files = {rel: digest for rel, digest in manifest.files.items() if rel not in gone}
    else:
        files = dict(manifest.files)
    kept = {rel: stats[rel] for rel in files}
    delta = manifest.delta
    if manifest.base and dropped:
        delta = delta | frozenset(dropped)  # dropped: unlike the base
    tree = "" if dropped else manifest.tree
    return Manifest(files, manifest.foreign, kept, manifest.damaged, manifest.base, delta, tree)


@contextlib.contextmanager
def _naming(folder: Path, rel: str) -> Iterator[None]:
    """A write that fails on a full disk raises an OSError naming no file (the bytes go
    out through an open stream): name the file being written, so that the message says
    which folder is full (``errors.os_problem``), not just "somewhere in the site"."""
    try:
        yield
    except OSError as exc:
        if exc.filename is None and exc.errno is not None:
            raise OSError(exc.errno, exc.strerror, str(folder / rel)) from exc
        raise


@dataclass(slots=True)
class TreeMemory:
    """What this process knows of both trees, each tied to its folder's identity."""

    published: tuple[tuple[int, int], Manifest] | None = None  # (dev, ino) of the folder
    staged: tuple[tuple[int, int], Manifest] | None = None

    def forget(self) -> None:
        self.published = self.staged = None

    @staticmethod
    def recall(known: tuple[tuple[int, int], Manifest] | None, folder: Path) -> Manifest | None:
        """The manifest of ``folder`` if it is still the folder it was known for."""
        if known is None or _identity(folder) != known[0]:
            return None
        return known[1]


def _same_device(a: Path, b: Path) -> bool:
    """Both folders on one file system, where an inode number names one file."""
    try:
        return os.stat(a).st_dev == os.stat(b).st_dev
    except OSError:
        return False


def _identity(folder: Path) -> tuple[int, int]:
    try:
        info = os.stat(folder)
    except OSError:
        return (-1, -1)
    return (info.st_dev, info.st_ino)


def default_work_dir(out_dir: Path) -> Path:
    """The tool's work folder when a caller names none: beside the output folder."""
    return out_dir.absolute().parent / ".kldigital-cache"


def staging_dir_for(out_dir: Path, work_dir: Path | None = None) -> Path:
    """Where the next tree is assembled: in the tool's work folder when that lies on the
    same file system as the output folder (a rename cannot cross file systems), else
    beside the output folder."""
    out_dir = out_dir.absolute()
    work_dir = work_dir if work_dir is not None else default_work_dir(out_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    probe = out_dir if out_dir.exists() else out_dir.parent
    if probe.exists() and os.stat(probe).st_dev == os.stat(work_dir).st_dev:
        return work_dir / f"staging-{_tree_id(out_dir)}"
    return out_dir.parent / f".{out_dir.name}.kldigital-staging"


def _tree_id(out_dir: Path) -> str:
    return hashlib.sha256(str(out_dir.absolute()).encode()).hexdigest()[:16]


class Bookkeeping:
    """Where the manifest and journal of each tree of one output folder live.

    A record is named after the output folder (its absolute path) and the inode of the
    tree it describes: after an exchange, output/ has the staging folder's inode and so
    its manifest, with no second step that a crash could split from the first.
    """

    def __init__(self, out_dir: Path, work_dir: Path | None = None) -> None:
        out_dir = out_dir.absolute()
        work_dir = work_dir if work_dir is not None else default_work_dir(out_dir)
        self.folder = work_dir.absolute() / _TREES_DIR
        self.prefix = _tree_id(out_dir)
        self._bases: dict[str, Manifest | None] = {}  # both trees mostly share one

    def _stem(self, tree: Path) -> str | None:
        try:
            info = os.stat(tree)
        except OSError:
            return None
        return f"{self.prefix}-{info.st_dev}-{info.st_ino}"

    def manifest_file(self, tree: Path) -> Path | None:
        """The manifest of the tree now at ``tree``; None when there is no such folder."""
        stem = self._stem(tree)
        return None if stem is None else self.folder / f"{stem}.json"

    def journal_file(self, tree: Path) -> Path | None:
        stem = self._stem(tree)
        return None if stem is None else self.folder / f"{stem}.journal"

    def listing_file(self, tree: Path) -> Path | None:
        """Where the listing of the tree now at ``tree`` is kept (tree_listing.py)."""
        stem = self._stem(tree)
        return None if stem is None else self.folder / f"{stem}.listing"

    def _base_file(self, name: str, suffix: str = manifest_base.SUFFIX) -> Path:
        return self.folder / f"{self.prefix}-base-{name}{suffix}"

    def write_base(self, files: Mapping[str, str], stats: Mapping[str, object]) -> str:
        """Store a whole tree's record as a new base; returns its name."""
        name = os.urandom(8).hex()
        manifest_base.write(self._base_file(name), files, stats)
        return name

    def write_manifest(
        self,
        tree: Path,
        base: str,
        changed: Mapping[str, str],
        stats: Mapping[str, object],
        removed: Iterable[str],
        foreign: Iterable[str],
        key: str = "",
    ) -> None:
        """The record of ``tree``: the base's files with ``changed`` (and their ``stats``)
        put in and ``removed`` taken out; ``foreign`` in full; ``key``: the ``tree_key``
        of its files ("": not known)."""
        path = self.manifest_file(tree)
        assert path is not None, "a tree that is being written exists"
        record = {
            "version": _MANIFEST_VERSION,
            "base": base,
            "changed": changed,
            "changed_stats": stats,
            "removed": sorted(removed),
            "foreign": sorted(foreign),
            "tree": key,
        }
        _write_json(path, record)

    def base(self, name: object) -> Manifest | None:
        """The base called ``name``, read once per ``Bookkeeping``; None: missing or damaged."""
        if not isinstance(name, str) or _BASE_NAME.fullmatch(name) is None:
            return None
        if name not in self._bases:
            path = self._base_file(name)
            if path.exists():
                self._bases[name] = _read_base(manifest_base.read(path))
            else:  # as an older version wrote it
                self._bases[name] = _read_json_base(self._base_file(name, ".json"))
        return self._bases[name]

    def expand(self, record: Mapping[str, object]) -> Manifest:
        """A tree's record (``write_manifest``) as the whole manifest it stands for."""
        base = self.base(record["base"])
        changed, stats = record["changed"], record["changed_stats"]
        removed, foreign = record["removed"], record["foreign"]
        if not (
            base is not None
            and isinstance(changed, dict)
            and isinstance(stats, dict)
            and isinstance(removed, list)
            and isinstance(foreign, list)
            and all(type(digest) is str for digest in changed.values())
            and all(type(rel) is str for rel in (*removed, *foreign))
            and _all_plain_paths((*changed, *foreign))
        ):
            return Manifest({}, frozenset(), damaged=True)
        files, kept = dict(base.files), dict(base.stats)
        files.update(changed)
        kept.update(stats)
        for rel in removed:
            files.pop(rel, None)
            kept.pop(rel, None)
        for rel in changed.keys() - stats.keys():
            kept.pop(rel, None)  # a changed file without a stat is not trusted
        delta = frozenset((*changed, *removed))
        tree = record.get("tree", "")
        return Manifest(
            files,
            frozenset(foreign),
            kept,
            base=base_name(record),
            delta=delta,
            tree=tree if isinstance(tree, str) else "",
        )

    def forget(self, tree: Path) -> None:
        for path in (self.manifest_file(tree), self.journal_file(tree), self.listing_file(tree)):
            if path is not None:
                path.unlink(missing_ok=True)

    def prune(self, *trees: Path, bases: Iterable[str] = ()) -> None:
        """Drop the records of trees of this output folder that are gone, and every base
        but ``bases`` (those the records of ``trees`` are stored against)."""
        keep = {stem for stem in map(self._stem, trees) if stem is not None}
        keep.update(f"{self.prefix}-base-{name}" for name in bases if name)
        if not self.folder.is_dir():
            return
        for path in self.folder.glob(f"{self.prefix}-*"):
            if path.name.split(".", 1)[0] not in keep:
                path.unlink(missing_ok=True)


_BASE_NAME = re.compile(r"[0-9a-f]{16}")


def base_name(record: Mapping[str, object]) -> str:
    name = record.get("base")
    return name if isinstance(name, str) else ""


def _write_json(path: Path, value: Mapping[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f"{path.name}.tmp")
    with temporary.open("w", encoding="utf-8") as stream:
        stream.writelines(_json_pieces(value))
    os.replace(temporary, path)  # never half a record, whenever a build is killed


# Entries of a record's big mappings per piece of its text (``_json_pieces``).
_JSON_PIECE = 4096


def _json_pieces(value: Mapping[str, object]) -> Iterator[str]:
    """The text of ``json.dumps(value)``, its mappings a few thousand entries at a time.

    No indent: the C encoder is only used for compact output (5× faster). Whole, the
    text of 67,000 files with their digests and stats was ~25 MB held at once at the
    end of a cold build at 10,000 items, where its memory peaks (issue 15)."""
    yield "{"
    for number, (key, item) in enumerate(value.items()):
        yield (", " if number else "") + json.dumps(key) + ": "
        if not isinstance(item, dict) or len(item) <= _JSON_PIECE:
            yield json.dumps(item)
            continue
        names = list(item)
        yield "{"
        for start in range(0, len(names), _JSON_PIECE):
            piece = json.dumps({n: item[n] for n in names[start : start + _JSON_PIECE]})
            yield (", " if start else "") + piece[1:-1]
        yield "}"
    yield "}"


def _difference(
    known: Mapping[str, str],
    recorded: Mapping[str, object],
    files: Mapping[str, str],
    stats: Mapping[str, object],
) -> frozenset[str]:
    """The paths where ``files`` and ``stats`` differ from ``known`` and ``recorded`` (one
    is missing, or another digest or stat)."""
    return frozenset(
        rel
        for rel in files.keys() | known.keys()
        if files.get(rel) != known.get(rel) or stats.get(rel) != recorded.get(rel)
    )


def _well_typed(files: object, stats: object) -> bool:
    """Files and stats of a manifest as JSON gives them: two objects, a string digest for
    every file (the stats are checked where they are compared, ``_verified``)."""
    return (
        isinstance(files, dict)
        and isinstance(stats, dict)
        and all(type(digest) is str for digest in files.values())
    )


def _read_base(stored: tuple[dict[str, object], dict[str, object]] | None) -> Manifest | None:
    """A base as ``manifest_base.read`` gives it, if its paths and digests pass."""
    if stored is None:
        return None
    files, stats = stored
    try:
        if not (_well_typed(files, stats) and _all_plain_paths(files)):
            return None
    except TypeError:  # a path that is no string
        return None
    return Manifest(cast(dict[str, str], files), frozenset(), cast(dict[str, list[int]], stats))


def _read_json_base(path: Path) -> Manifest | None:
    """A base as versions before ``manifest_base`` wrote it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != _MANIFEST_VERSION:
            return None
        return _read_base((data["files"], data["stats"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def read_manifest(out_dir: Path, work_dir: Path | None = None) -> dict[str, str] | None:
    """The files of the build in ``out_dir``; None when the folder is not ours."""
    manifest = _read_manifest(out_dir, Bookkeeping(out_dir, work_dir))
    return None if manifest is None else manifest.files


def _read_manifest(folder: Path, book: Bookkeeping, *, legacy: bool = True) -> Manifest | None:
    path = book.manifest_file(folder)
    if path is None or not path.is_file():
        if not legacy or not (folder / LEGACY_MANIFEST_NAME).is_file():
            return None
        path = folder / LEGACY_MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and "base" in data:
            return book.expand(data)
        files = data["files"]
        foreign = frozenset(data.get("foreign", []))
        # An older format still says which files are ours, but without the sizes and
        # times that make them trusted: every one of them is written again. Version 5
        # kept the same stats as a whole, without a base.
        current = data.get("version") in (5, _MANIFEST_VERSION)
        stats = data.get("stats", {})
        # Keys of a JSON object are strings; the values are checked by type, not
        # converted (60,000 of each per read). A stat that is no list of two integers
        # never equals a file's (``_verified``), so it is simply not trusted.
        if not (_well_typed(files, stats) and all(type(rel) is str for rel in foreign)):
            raise TypeError("not a manifest")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return Manifest({}, frozenset(), damaged=True)
    if not _all_plain_paths((*files, *foreign)):
        # Every path in it is deleted or replaced one day: "../x" or "/etc/x" never are.
        return Manifest({}, frozenset(), damaged=True)
    return Manifest(files, foreign, stats if current else {})


def check_output_dir(out_dir: Path, book: Bookkeeping | None = None) -> Manifest | None:
    """The output folder's manifest (None: nothing there yet), or ``BuildFailed`` when the
    folder is not the tool's to write into."""
    book = book if book is not None else Bookkeeping(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise BuildFailed(
            [SiteError(str(out_dir), 0, "Das Ausgabeziel ist eine Datei, kein Ordner.")]
        )
    manifest = _read_manifest(out_dir, book) if out_dir.is_dir() else None
    if manifest is not None and manifest.damaged:
        raise BuildFailed(
            [
                SiteError(
                    str(book.manifest_file(out_dir)),
                    0,
                    "Die Liste der erzeugten Dateien ist beschädigt; welche Dateien von "
                    "kldigital-site stammen, ist nicht mehr sicher. Bitte den Ausgabeordner "
                    "leeren oder löschen und neu bauen.",
                )
            ]
        )
    if out_dir.is_dir() and manifest is None and _is_marked(out_dir):
        # Its manifest went with the work folder: every file is the tool's, none trusted.
        return Manifest(dict.fromkeys(_files_in(out_dir) - _LEGACY_NAMES, ""), frozenset())
    if out_dir.is_dir() and manifest is None and any(out_dir.iterdir()):
        raise BuildFailed(
            [
                SiteError(
                    str(out_dir),
                    0,
                    "Der Ausgabeordner ist nicht leer und wurde nicht von kldigital-site angelegt; "
                    "bitte einen leeren oder neuen Ordner angeben.",
                )
            ]
        )
    return manifest


def safe_relative(path: str) -> str:
    if not _is_plain_path(path):
        raise BuildFailed([SiteError(path, 0, "Ausgabepfad verlässt den Ausgabeordner.")])
    return path


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class TreeWriter:
    """Collects the files of one build in the staging folder; ``commit`` publishes them."""

    def __init__(
        self, out_dir: Path, work_dir: Path | None = None, memory: TreeMemory | None = None
    ) -> None:
        self.out_dir = out_dir.absolute()
        self.book = Bookkeeping(self.out_dir, work_dir)
        self.staging = staging_dir_for(self.out_dir, work_dir)
        self._staging_prefix = f"{self.staging}{os.sep}"
        self._memory = memory
        recalled = TreeMemory.recall(memory.published, self.out_dir) if memory else None
        # Prepared on first use: a build that finds nothing to do never touches staging.
        self._staged_manifest: Manifest | None = None
        self._known_staged = TreeMemory.recall(memory.staged, self.staging) if memory else None
        self._recalled = recalled is not None
        # The published files still as written (``published``): known now, or once the
        # child checking both trees (``_check_trees``) tells which are not.
        self._published: Manifest | None = None
        self._checking: Forked | None = None
        self._answers: list[tuple[Any] | None] = []  # the child's parts read so far
        published: Manifest | None
        if recalled is not None:
            published = self._published = recalled
        else:
            published = check_output_dir(self.out_dir, self.book)
            self.out_dir.parent.mkdir(parents=True, exist_ok=True)
            if published is None:
                self._published = Manifest({}, frozenset())
            elif memory is not None:
                self._published = _verified(self.out_dir, published)
                memory.published = (
                    (_identity(self.out_dir), self._published)
                    if len(self._published.files) == len(published.files)
                    else None
                )
        # What the tool wrote, altered or not: never mistaken for a user's own file.
        self._ours = frozenset(published.files) if published else frozenset()
        # The published tree's record as it stands, trusted or not (``_record``).
        self._published_record = published
        self._planned: dict[str, str] = {}
        self._journal: TextIO | None = None
        self._touched: set[str] = set()  # paths placed or removed in staging by this build
        # Every path given to ``add``: the only ones whose planned file may differ from the
        # published one, once ``add_unchanged`` has carried over all the others.
        self._added: list[str] = []
        # The published files ``add_unchanged`` left out (``dropped``); None: not called.
        self._not_carried: frozenset[str] | None = None
        # Paths added that staging did not already hold as wanted (``add``'s slow way).
        self._unlike_staged: set[str] = set()
        # Folders of staging made or seen by ``_touch`` since the last removal (which may
        # take empty ones away): 7,000 files share a few hundred folders.
        self._folders: set[str] = set()
        # Files of the output folder the tool did not write (``find_foreign``).
        self._foreign: frozenset[str] | None = None
        self._planned_key = ""  # ``tree_key`` of the planned files, once committed
        if self._published is None:
            # A build from the command line: nothing reads the answer before its pages
            # are rendered (forked.py). Started last: the child sees the writer whole.
            # Lower in priority: of an edit build at 10,000 items it is ~0.7 s of CPU
            # (67,000 stats, two walks) that is needed only at the end, while the search
            # head start and Pagefind, whose end the build waits for, want the same core
            # (issue 15).
            self._checking = Forked.start(self._check_trees, nice=CHECK_NICENESS)

    @property
    def published(self) -> Manifest:
        """The published files still exactly as the tool wrote them (``_verified``)."""
        if self._published is None:
            record = self._published_record
            assert record is not None, "only a published tree is checked"
            answer = self._answer(_PUBLISHED_PART)
            if answer is None:
                self._published = _verified(self.out_dir, record)
                self._end_check()  # its later parts are of no use without this one
            else:
                self._published = _without(record, answer[0])
        return self._published

    @published.setter
    def published(self, manifest: Manifest) -> None:
        self._published = manifest

    @property
    def intact(self) -> bool:
        """Every published file is still there, exactly as written."""
        record = self._published_record
        return record is not None and len(self.published.files) == len(record.files)

    def _check_trees(self) -> Iterator[object]:
        """Run by the forked child (forked.py), reading only but for the trees' listings
        (``_listed``): the published files no longer as written (``_untrusted``), then
        what ``_examine_staging`` finds, then a first look for the user's files
        (foreign_files.py)."""
        record = self._published_record
        assert record is not None, "only a published tree is checked"
        dropped = _untrusted(self.out_dir, record)
        yield dropped
        yield self._staging_checked(record, dropped)
        yield look(self._listed(self.out_dir), self._ours, _LEGACY_NAMES)

    def _listed(self, tree: Path) -> Listing:
        """``tree`` listed in proportion to what changed since the last build listed it,
        and that listing kept for the next (tree_listing.py)."""
        where = self.book.listing_file(tree)
        assert where is not None, "only a tree that exists is listed"
        listing = list_tree(tree, load_listing(where))
        store_listing(listing, where)
        return listing

    def _staging_checked(
        self, record: Manifest, dropped: list[str]
    ) -> tuple[list[str], list[str]] | None:
        journal = self.book.journal_file(self.staging)
        if not self.staging.is_dir() or journal is None or journal.exists():
            return None  # none yet, or a build was interrupted: ``_prepare_staging`` sees to it
        manifest = _read_manifest(self.staging, self.book, legacy=False)
        if manifest is None or manifest.damaged:
            return None
        return self._examine_staging(manifest, _without(record, dropped))

    def _answer(self, part: int) -> tuple[Any] | None:
        """The child's ``part`` (``_check_trees``), reading the parts before it first;
        None when there is no child or it did not give that part. The child is ended
        once its last part is read."""
        while len(self._answers) <= part:
            checking = self._checking
            self._answers.append(checking.part() if checking is not None else None)
        if part == _FOREIGN_PART:
            self._end_check()
        return self._answers[part]

    def _examine_staging(
        self, manifest: Manifest, published: Manifest
    ) -> tuple[list[str], list[str]]:
        """The paths of staging's record not to trust, and the files in staging to remove:
        the files its record does not vouch for."""
        present = files_with_inodes(self._listed(self.staging))
        untrusted = _untrusted(
            self.staging, manifest, self._shared_with_published(present, published)
        )
        # Nothing else stays: a file the manifest does not vouch for would be published
        # with the next exchange and then, unlisted, pass for a user's file for ever.
        keep = (manifest.files.keys() - set(untrusted)) | manifest.foreign
        return untrusted, sorted(present.keys() - keep)

    def _end_check(self) -> None:
        if self._checking is not None:
            self._checking.close()
            self._checking = None

    @property
    def _staged(self) -> Manifest:
        if self._staged_manifest is None:
            if self._memory is not None:
                # From here on staging changes: only a commit that swaps describes it again.
                self._memory.staged = None
            known = self._known_staged
            self._staged_manifest = known if known is not None else self._prepare_staging()
            journal = self.book.journal_file(self.staging)
            assert journal is not None, "staging was just prepared"
            journal.parent.mkdir(parents=True, exist_ok=True)
            self._journal = journal.open("a", encoding="utf-8")
        return self._staged_manifest

    @property
    def previous_digests(self) -> dict[str, str]:
        """Digests of the files now published in the output folder."""
        return self.published.files

    def planned_digest(self, rel: str) -> str | None:
        return self._planned.get(rel)

    def published_size(self, rel: str) -> int | None:
        """The size of a published file as the manifest vouches for it."""
        stats = self.published.stats.get(rel)
        return stats[0] if stats else None

    @property
    def published_tree_key(self) -> str:
        """``tree_key`` of the published files still exactly as written: as their record
        says while none is wanting (a build that finds nothing changed need not hash
        67,000 paths and digests again, issue 15), else worked out."""
        record = self._published_record
        if self.intact and record is not None and record.tree.startswith(_TREE_KEY_FORM):
            return record.tree
        return tree_key(self.published.files)

    @property
    def planned_tree_key(self) -> str:
        """``tree_key`` of the files of this build (after ``commit``: all of them)."""
        return self._planned_key or tree_key(self._planned)

    @property
    def planned_digests(self) -> dict[str, str]:
        """Digests of the files of this build so far (after ``commit``: all of them)."""
        return dict(self._planned)

    def _prepare_staging(self) -> Manifest:
        """The staging folder's trustworthy contents, after undoing an interrupted build."""
        # Asked first: the child ends here, whatever is found below.
        examined = self._staged_part()
        if not self.staging.is_dir():
            _make_tree(self.staging)
            return Manifest({}, frozenset())
        # A staging folder of a version that kept its manifest inside is started afresh.
        manifest = _read_manifest(self.staging, self.book, legacy=False)
        journal = self.book.journal_file(self.staging)
        assert journal is not None, "staging is a folder"
        try:
            touched = (
                set(journal.read_text(encoding="utf-8").splitlines())
                if journal.is_file()
                else set()
            )
        except (OSError, ValueError):
            touched = {""}  # unreadable: as untrustworthy as a damaged one
        if manifest is None or manifest.damaged or not all(map(_is_plain_path, touched)):
            # The staging folder is the tool's own; what cannot be trusted is rebuilt.
            self.book.forget(self.staging)
            shutil.rmtree(self.staging)
            _make_tree(self.staging)
            return Manifest({}, frozenset())
        if journal.is_file():
            for rel in touched:
                _remove_file(self.staging, rel)
            journal.unlink()
            files = {k: v for k, v in manifest.files.items() if k not in touched}
            manifest = Manifest(
                files,
                manifest.foreign - touched,
                manifest.stats,
                base=manifest.base,
                delta=manifest.delta | touched,
            )
            examined = None  # the child did not look (``_check_trees``)
        if examined is None:
            examined = self._examine_staging(manifest, self.published)
        untrusted, extra = examined
        for rel in extra:
            _remove_file(self.staging, rel)
        return _without(manifest, untrusted)

    def _staged_part(self) -> tuple[list[str], list[str]] | None:
        """What the child found of staging (``_check_trees``), once it has told the
        published part; None when it did not look or failed."""
        self.published  # noqa: B018 - the child tells the published part first
        answer = self._answer(_STAGING_PART)
        if answer is None or answer[0] is None:
            return None
        untrusted, extra = answer[0]
        return list(untrusted), list(extra)

    def _shared_with_published(
        self, present: Mapping[str, int], published: Manifest
    ) -> dict[str, list[int]]:
        """The published files, as verified a moment ago, whose very inode lies at the
        same path in staging (the listing names each file's inode without a stat).

        Staging holds the tree published before; what the two share are hard links,
        so a staged file recorded with the size, time and inode of a verified
        published one is that file, unaltered: 60,000 stats less per build at 10,000
        items (issue 15). A file replaced, deleted or edited in staging still shows: a
        new inode, no entry, or a changed shared inode."""
        if not _same_device(self.staging, self.out_dir):
            return {}
        return {
            rel: stat
            for rel, stat in published.stats.items()
            if len(stat) == 3 and present.get(rel) == stat[2]
        }

    def _touch(self, rel: str) -> str:
        """Journal ``rel`` and make its folder in staging; returns its path there.
        Plain strings, not ``Path``: this runs for each of the 67,642 files of a cold
        build at 10,000 items."""
        self._touched.add(rel)
        self._staged  # noqa: B018 - the journal exists once staging is prepared
        assert self._journal is not None
        self._journal.write(rel + "\n")
        self._journal.flush()
        target = self._staging_prefix + rel
        folder = os.path.dirname(target)
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        return target

    def _place(self, rel: str, digest: str, data: bytes | None, source: Path | None) -> None:
        staged = self._staged
        if staged.files.get(rel) == digest and rel not in staged.foreign:
            return
        if data is not None and self.published.files.get(rel) != digest:
            # New bytes, published nowhere: written where they belong if nothing lies
            # there yet, as every file of a cold build (``_create``).
            target = self._touch(rel)
            if _create(target, data):
                return
            self._replace(Path(target), rel, digest, data, source)
            return
        self._replace(Path(self._touch(rel)), rel, digest, data, source)

    def _replace(
        self, target: Path, rel: str, digest: str, data: bytes | None, source: Path | None
    ) -> None:
        """Put the file at ``target`` (journalled already) through a temporary file and a
        rename: what lies there may be a hard link to a published file, which must not
        change."""
        temporary = target.with_name(f".{target.name}.kldigital-tmp")
        published = self.out_dir / rel
        if self.published.files.get(rel) == digest and published.is_file():
            if _same_file(published, target):
                return  # rename() between two links to one file would do nothing at all
            _link_or_copy(published, temporary)
        elif data is not None:
            temporary.write_bytes(data)
        elif source is not None:
            shutil.copyfile(source, temporary)
        else:
            raise ValueError(f"no content for {rel}")
        os.replace(temporary, target)

    def add(
        self, path: str, *, digest: str, data: bytes | None = None, source: Path | None = None
    ) -> None:
        """One file of the new site; ``data`` and ``source`` may be omitted when unchanged."""
        staged = self._staged_manifest or self._staged
        self._added.append(path)
        if staged.files.get(path) == digest and path not in staged.foreign:
            # Already staged as it must be, and a plain path (checked when the manifest
            # was read): the common case, 60,000 times in an edit build at 10,000 items.
            self._planned[path] = digest
            return
        rel = safe_relative(path)
        self._planned[rel] = digest
        self._unlike_staged.add(rel)
        with _naming(self.staging, rel):
            self._place(rel, digest, data, source)

    def add_published(self, path: str, suffixes: Iterable[str]) -> bool:
        """Add ``path`` + each suffix as published, if ``path`` was just added as it is
        published and all of them are: False (nothing added) otherwise.

        The compressed siblings of an unchanged page (precompress.py) in one call: twice
        30,000 files in an edit build at 10,000 items.
        """
        previous = self.published.files
        digest = previous.get(path)
        if digest is None or self._planned.get(path) != digest:
            return False
        names = [path + suffix for suffix in suffixes]
        digests = [previous.get(name) for name in names]
        if not all(digests):
            return False
        staged = self._staged_manifest or self._staged
        for name, known in zip(names, digests, strict=True):
            assert known is not None
            if staged.files.get(name) == known and name not in staged.foreign:
                self._planned[name] = known  # as ``add`` does, without its call
            else:
                self.add(name, digest=known)
        return True

    def add_as_published(self, paths: Iterable[str]) -> None:
        """``add`` each of ``paths`` as it is published (a page the build keeps): those
        staging holds as published in one step, the others one by one. An edit build at
        10,000 items keeps 30,000 pages, each of them an ``add`` call before (issue 15)."""
        published = self.published.files
        self._add_all({path: published[path] for path in paths})

    def add_published_siblings(self, paths: Iterable[str], suffixes: Iterable[str]) -> list[str]:
        """``add_published`` for each of ``paths`` in one step; returns those of ``paths``
        it added nothing for (a sibling is not published, or the file itself was not just
        added as it is published), in their order."""
        published = self.published.files
        planned = self._planned
        listed = list(paths)
        wanted = {path + suffix: path for path in listed for suffix in suffixes}
        left = {wanted[name] for name in wanted.keys() - published.keys()}
        left.update(path for path in listed if planned.get(path, "") != published.get(path))
        self._add_all({name: published[name] for name, path in wanted.items() if path not in left})
        return [path for path in listed if path in left]

    def _add_all(self, files: Mapping[str, str]) -> None:
        """``add`` of each of ``files`` (path → digest, bytes and source omitted), each as
        it is published (``_commit`` counts on it: no path added here is changed)."""
        staged = self._staged
        # Set operations, not a loop: what staging does not hold as wanted goes ``add``'s
        # slow way, which checks the path and places the file.
        slow = {rel for rel, _ in files.items() - staged.files.items()}
        slow |= staged.foreign & files.keys()
        if slow:
            self._planned.update((rel, d) for rel, d in files.items() if rel not in slow)
            for rel in sorted(slow):
                self.add(rel, digest=files[rel])
        else:
            self._planned.update(files)

    @property
    def recalled(self) -> bool:
        """The published tree is the one this process last committed or verified
        (``TreeMemory``): its manifest was not read back from disk."""
        return self._recalled

    def add_unchanged(self, dropped: Collection[str] = ()) -> None:
        """Every published file not added so far, as it is, but ``dropped``: the preview's
        save that re-renders a few pages (build.py) adds those, then the other 40,000
        files in one step. Staging holds the tree before the published one, so only the
        files that differ between the two are placed (set operations, not a loop over
        every file). An added file is never replaced by its published copy; one added
        later replaces it. ``dropped``: published files that go unless added (a search
        bundle indexed again, edit_build.py)."""
        published = self.published.files
        staged = self._staged
        planned = self._planned
        self._not_carried = frozenset(dropped) | (self._not_carried or frozenset())
        stale = {rel for rel, _ in published.items() - staged.files.items()}
        stale |= staged.foreign & published.keys()
        stale -= set(dropped)
        carried = dict(published)
        for rel in dropped:
            carried.pop(rel, None)
        carried.update(planned)
        self._planned = carried
        for rel in sorted(stale - planned.keys()):
            self._unlike_staged.add(rel)
            with _naming(self.staging, rel):
                self._place(rel, published[rel], None, None)

    def stage_published(self, limit: int | None = None) -> bool:
        """Bring staging up to date with the published tree, ``limit`` files at a time, and
        remember it (``TreeMemory``), publishing nothing; True when it is up to date.

        The preview does this while idle after its start (resident_build.py ``stage_published``): a
        first build leaves no staging folder (it is renamed into place), and the first
        save would link 40,000 files while the editor waits for it. The journal keeps
        every file placed, so a process that ends before its next commit leaves them to
        be undone, as after any build."""
        memory = self._memory
        if memory is None or not self._recalled:
            return True
        staged = self._staged
        published = self.published.files
        stale = {rel for rel, _ in published.items() - staged.files.items()}
        stale |= staged.foreign & published.keys()
        placing = sorted(stale)[:limit] if limit is not None else sorted(stale)
        for rel in placing:
            with _naming(self.staging, rel):
                self._place(rel, published[rel], None, None)
        self._close_journal()
        placed = self._touched
        files = {rel: digest for rel, digest in staged.files.items() if rel not in placed}
        stats = {rel: stat for rel, stat in staged.stats.items() if rel not in placed}
        prefix = f"{self.staging}{os.sep}"
        for rel in placed:
            stat = _stat_key(prefix + rel)
            if stat is not None:  # else not vouched for: placed again by the next build
                files[rel], stats[rel] = published[rel], stat
        # Stored against the base of staging's record, from which the placed files differ.
        known = Manifest(
            files, staged.foreign - placed, stats, base=staged.base, delta=staged.delta | placed
        )
        memory.staged = (_identity(self.staging), known)
        return len(placing) == len(stale)

    def add_output(self, output: Output) -> None:
        if output.data is not None:
            self.add(output.path, digest=hashlib.sha256(output.data).hexdigest(), data=output.data)
        elif output.source is not None:
            self.add(output.path, digest=file_digest(output.source), source=output.source)
        else:
            raise ValueError(f"no content for {output.path}")

    def staged_reader(self, rel: str) -> Callable[[], bytes]:
        """How to read back an added file from where it lies until commit."""
        return functools.partial(_read_bytes, self._staging_prefix + rel)

    def commit(self) -> WriteReport:
        try:
            return self._commit()
        finally:
            self._end_check()

    def _commit(self) -> WriteReport:
        planned = self._planned
        changed, gone = self._changes()
        written = tuple(sorted(changed))
        unchanged = _Unchanged(planned, changed)
        removed = tuple(sorted(gone))
        foreign = self.find_foreign()
        same_site = (
            not written
            and not removed
            and self.out_dir.is_dir()
            and foreign == self.published.foreign
        )
        if same_site and self._staged_manifest is None:
            return WriteReport((), unchanged, ())  # staging not even looked at
        # Worked out once, for the record and for the build's cache (``planned_tree_key``).
        self._planned_key = self._changed_key(changed, removed)
        # Set operations, not a loop over the 60,000 staged files in Python.
        unplanned = self._staged_unplanned()
        for rel in sorted((unplanned | (self._staged.foreign - planned.keys())) - foreign):
            self._touch(rel)
            _remove_file(self.staging, rel)
            self._folders.clear()
        for rel in sorted(foreign):
            staged = self.staging / rel
            if (
                rel in self._staged.foreign
                and staged.exists()
                and _same_file(staged, self.out_dir / rel)
            ):
                continue
            target = Path(self._touch(rel))
            source = self.out_dir / rel
            if target.exists() or target.is_symlink():
                target.unlink()
            if source.is_symlink():
                os.symlink(os.readlink(source), target)
            else:
                _link_or_copy(source, target)
        # Sizes and times as verified when staging was prepared, for files not touched
        # since; a stat of each of 20,000 files again would only repeat them.
        prefix = f"{self.staging}{os.sep}"
        kept = self._staged
        touched = self._touched

        def stat_of(rel: str) -> list[int] | None:
            if rel not in touched and kept.files.get(rel) == planned[rel]:
                return kept.stats[rel]
            return _stat_key(prefix + rel)

        # The new tree is staging as prepared but where this build placed, removed or
        # added what staging did not hold.
        differing = touched | self._unlike_staged | unplanned
        base, delta, stats = self._record(differing, foreign, stat_of)
        # What this build placed, as it lies in staging now: after the exchange below,
        # staging holds the tree published before, and a stat there names another file.
        # Only a process that remembers the tree needs it (``TreeMemory``); stats just
        # made by ``_record`` are taken as they are: a cold build at 10,000 items made
        # 67,000 stats a second time for nothing (issue 15).
        placed: dict[str, list[int] | None] = {}
        if self._memory is not None:
            placed = {
                rel: stats[rel] if stats is not None else _stat_key(prefix + rel)
                for rel in touched
                if rel in planned
            }
        # The manifest now vouches for every staged file: the journal has done its work.
        self._close_journal()
        journal = self.book.journal_file(self.staging)
        assert journal is not None
        journal.unlink()
        if same_site:
            # Nothing to publish, but staging was brought up to the published site for it,
            # and its record says so: without one, the next build undid all of it, and
            # after a cold build (no staging yet) linked 60,000 files anew every time a
            # change published nothing, such as a draft's (issue 15). Both trees hold
            # the same site now.
            self.book.prune(self.out_dir, self.staging, bases={base, self.published.base})
            memory = self._memory
            if memory is not None and memory.published is not None:
                # The same tree, perhaps stored against the new base now (``_record``).
                memory.published = (_identity(self.out_dir), self.published)
            return WriteReport((), unchanged, ())
        _swap_into_place(self.staging, self.out_dir)
        # Staging now holds the tree that was published, stored against its own base.
        self.book.prune(self.out_dir, self.staging, bases={base, self.published.base})
        memory = self._memory
        if memory is not None:
            memory.forget()
            if stats is None:
                stats = {rel: placed[rel] if rel in placed else stat_of(rel) for rel in planned}
            if None not in stats.values():
                checked = {rel: st for rel, st in stats.items() if st is not None}
                memory.published = (
                    _identity(self.out_dir),
                    Manifest(
                        dict(planned),
                        foreign,
                        checked,
                        base=base,
                        delta=delta,
                        tree=self._planned_key,
                    ),
                )
            if self.intact and self.staging.is_dir():
                # Staging now holds the tree that was published, exactly as verified.
                memory.staged = (_identity(self.staging), self.published)
        return WriteReport(written, unchanged, removed)

    def _changes(self) -> tuple[set[str], set[str]]:
        """The planned files that differ from the published ones (new or other bytes), and
        the published files not planned.

        Once ``add_unchanged`` has carried over every published file but those it left
        out, only the paths ``add`` was given can differ, and only those left out can be
        gone: an edit build at 10,000 items compares a few hundred paths, not the 67,000
        of both trees (issue 15)."""
        planned, previous = self._planned, self.published.files
        if self._not_carried is None:
            changed = {rel for rel, _ in planned.items() - previous.items()}
            return changed, set(previous.keys() - planned.keys())
        changed = {rel for rel in self._added if planned[rel] != previous.get(rel)}
        gone = {rel for rel in self._not_carried if rel in previous and rel not in planned}
        return changed, gone

    def _staged_unplanned(self) -> set[str]:
        """The staged files not planned.

        Staging's record and the published tree's are stored against one base mostly:
        a path where the two trees differ lies in the difference of one of them from it
        (``Manifest.delta``). Once ``add_unchanged`` has carried over the published files,
        only those and the ones it left out can be staged but not planned."""
        staged, planned, published = self._staged, self._planned, self.published
        if self._not_carried is not None and staged.base and staged.base == published.base:
            candidates = staged.delta | published.delta | self._not_carried
            return {rel for rel in candidates if rel in staged.files and rel not in planned}
        return set(staged.files.keys() - planned.keys())

    def _changed_key(self, changed: Collection[str], removed: Collection[str]) -> str:
        """``tree_key`` of the planned files: from the published tree's, where its record
        has one that stands for the files published (``changed_tree_key``)."""
        record = self._published_record
        if self.intact and record is not None:
            previous = self.published.files
            key = changed_tree_key(record.tree, previous, self._planned, (*changed, *removed))
            if key is not None:
                return key
        return tree_key(self._planned)

    def _record(
        self,
        differing: set[str],
        foreign: frozenset[str],
        stat_of: Callable[[str], list[int] | None],
    ) -> tuple[str, frozenset[str], dict[str, list[int] | None] | None]:
        """Write the record of the new tree in staging: its base, the paths where it
        differs from that, and its stats when they had to be made for every file.

        The record is its difference from the base staging's record was stored against,
        written in proportion to what changed (the whole of 60,000 files was a quarter
        of a second per build, issue 15). Both trees keep one base: a tree stored
        against another base than the published one's, or too far from it, is
        compared with the published one's base; failing that, it becomes a new base,
        and the published tree's record is stored against it too.
        """
        planned, kept, published = self._planned, self._staged, self.published
        limit = len(planned) // _DELTA_SHARE + _DELTA_FLOOR
        if kept.base and kept.base == published.base:
            delta = kept.delta | differing
            if len(delta) <= limit:
                self._write_record(
                    self.staging, kept.base, delta, planned, stat_of, foreign, self._planned_key
                )
                return kept.base, delta, None
        stats = {rel: stat_of(rel) for rel in planned}
        shared = self.book.base(published.base)
        if shared is not None:
            delta = _difference(shared.files, shared.stats, planned, stats)
            if len(delta) <= limit:
                self._write_record(
                    self.staging,
                    published.base,
                    delta,
                    planned,
                    stats.__getitem__,
                    foreign,
                    self._planned_key,
                )
                return published.base, delta, stats
        base = self.book.write_base(planned, stats)
        self.book.write_manifest(self.staging, base, {}, {}, (), foreign, self._planned_key)
        whole = self._published_record
        if whole is not None and self.out_dir.is_dir():
            # Its record as it stands, trusted or not: what is the tool's stays so.
            own = _difference(planned, stats, whole.files, whole.stats)
            get = whole.stats.get
            self._write_record(self.out_dir, base, own, whole.files, get, whole.foreign, whole.tree)
            dropped = whole.files.keys() - published.files.keys()
            self.published = dataclasses.replace(published, base=base, delta=own | dropped)
        return base, frozenset(), stats

    def _write_record(
        self,
        tree: Path,
        base: str,
        delta: Iterable[str],
        files: Mapping[str, str],
        stat_of: Callable[[str], object],
        foreign: Iterable[str],
        key: str,
    ) -> None:
        changed = {rel: files[rel] for rel in delta if rel in files}
        stats = {rel: stat_of(rel) for rel in changed}
        gone = [rel for rel in delta if rel not in files]
        self.book.write_manifest(tree, base, changed, stats, gone, foreign, key)

    def abort(self) -> None:
        """Leave the output folder as it was; the journal marks what staging lost."""
        self._end_check()
        self._close_journal()

    def _close_journal(self) -> None:
        if self._journal is not None:
            self._journal.close()

    def find_foreign(self) -> frozenset[str]:
        """The files in the output folder that the tool did not write, which the new tree
        carries over; looked for once per build, at the latest by ``commit``.

        A build may look while it waits for something else (the search index,
        build.py). A file put into output/ after the look is not carried over: the
        exchange takes it to staging with the old tree, as it always did with one put
        there between the look and the exchange, only the moment is earlier. (The
        forked child's look while the build parses is only a start: what changed
        since is seen here, foreign_files.py.)"""
        if self._foreign is None:
            # The tool's own folder as its last commit left it: nobody else puts files there.
            self._foreign = self.published.foreign if self._recalled else self._foreign_files()
        return self._foreign

    def _foreign_files(self) -> frozenset[str]:
        seen = self._answer(_FOREIGN_PART)
        if not self.out_dir.is_dir():
            return frozenset()
        if seen is not None and isinstance(seen[0], dict):
            # What the child saw while the build parsed, with the folders changed since
            # listed again (foreign_files.py).
            return brought_up_to_date(self.out_dir, seen[0], self._ours, _LEGACY_NAMES)
        return frozenset(_files_in(self.out_dir) - self._ours - _LEGACY_NAMES)


_LEGACY_NAMES = frozenset({LEGACY_MANIFEST_NAME, _LEGACY_JOURNAL_NAME})
# The parts the forked child sends, in this order (``TreeWriter._check_trees``).
_PUBLISHED_PART, _STAGING_PART, _FOREIGN_PART = range(3)


# A mark on the folder itself (not a file in it): a tree whose manifest is gone with
# .kldigital-cache/ is still known as the tool's. rsync -a, cp -r and uploads leave
# extended attributes behind; where a file system has none, the mark is simply missing.
_MARK = "user.kldigital-site"


def _make_tree(folder: Path) -> None:
    folder.mkdir(parents=True)
    with contextlib.suppress(OSError, AttributeError):
        os.setxattr(folder, _MARK, b"1")


def _is_marked(folder: Path) -> bool:
    try:
        return os.getxattr(folder, _MARK) == b"1"
    except (OSError, AttributeError):
        return False


_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


def _create(path: str, data: bytes) -> bool:
    """Write ``data`` to a new file at ``path``; False, touching nothing, when something
    lies there already.

    Without the temporary file and the rename that a file which is there needs
    (``TreeWriter._replace``): two system calls of six less per file, for every
    file of a cold build. A build killed halfway through leaves the file
    incomplete, but in staging and journalled, so the next build removes it. O_EXCL
    creates no file through a symbolic link either."""
    try:
        descriptor = os.open(path, _CREATE_FLAGS, 0o666)
    except FileExistsError:
        return False
    try:
        written = 0
        while written < len(data):  # a write may take fewer bytes than it was given
            written += os.write(descriptor, data[written:] if written else data)
    finally:
        os.close(descriptor)
    return True


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as stream:
        return stream.read()


def _files_in(folder: Path) -> set[str]:
    """Every file (or symlink) below ``folder``, as relative POSIX paths."""
    # The inode comes with the listing entry on POSIX (no stat): the same walk serves both.
    return set(walk(folder))


def remove_tree(out_dir: Path, work_dir: Path | None = None) -> bool:
    """Delete what the tool wrote into ``out_dir`` (and its staging folder); keep the rest."""
    book = Bookkeeping(out_dir, work_dir)
    staging = staging_dir_for(out_dir, work_dir)
    if staging.is_dir() and _read_manifest(staging, book, legacy=False) is not None:
        book.forget(staging)
        shutil.rmtree(staging)
    manifest = _read_manifest(out_dir, book)
    if manifest is None or manifest.damaged:
        return False  # not ours, or no longer known what is: delete nothing
    for rel in manifest.files:
        _remove_file(out_dir, rel)
    book.forget(out_dir)
    book.prune()  # the bases the two trees' records were stored against
    (out_dir / LEGACY_MANIFEST_NAME).unlink(missing_ok=True)
    if out_dir.is_dir() and not any(out_dir.iterdir()):
        out_dir.rmdir()
    return True


def _remove_file(root: Path, rel: str) -> None:
    if not _is_plain_path(rel):
        return  # never anything outside ``root``
    path = root / rel
    if path.is_file() or path.is_symlink():
        path.unlink()
    parent = path.parent
    while parent != root and parent.is_dir() and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _link_or_copy(source: Path, target: Path) -> None:
    if target.exists() or target.is_symlink():
        target.unlink()
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return
    if _exchange(staging, out_dir):
        return  # staging now holds the previous site, kept for the next build
    # No atomic exchange on this system: two renames, with a short window.
    old = out_dir.parent / f".{out_dir.name}.kldigital-old"
    if old.exists():
        shutil.rmtree(old)
    os.rename(out_dir, old)
    os.rename(staging, out_dir)
    os.rename(old, staging)


def _exchange(a: Path, b: Path) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result != 0:
        errno = ctypes.get_errno()
        if errno in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: not supported here
            return False
        raise OSError(errno, os.strerror(errno), str(b))
    return True
