"""The incremental build cache in ``<site root>/.kldigital-cache/cache.sqlite``.

Input: what earlier builds stored. Output: parsed documents by content hash,
rendered Markdown by body hash, and per output file the fingerprint of
everything it was made from (its view data and the templates it loaded). The
database is keyed on a fingerprint of the tool's own source code, the Python
version and the versions of the libraries it runs on, so a new version never
reads an old cache — nor does a CI job whose fresh install brought a newer
Markdown, Jinja2 or YAML library than the job that made the cache; every row
carries a checksum, and a row that does not match it, or a database that
cannot be read, is discarded — never trusted (a stale cache would publish stale
pages). JSON, or ``marshal`` for plain values read many at once or large (documents,
markdown/kept.py, the record of each build), never pickle, so nothing in it can run
code (Pelican ``cache.py`` is the anti-pattern).

A long-running process (the preview, serve/) hands every build the same
``CacheMemory``: what was read from or written to the database stays in memory
as Python values, so the next build does not decode 10,000 documents, page
records and body summaries again (issue 15: 1.5 s of a 2 s preview rebuild at
10,000 items). Everything in it is keyed by content, as in the database, so it
is exactly as trustworthy; a target's page records are checked against the
database's build record on every use, in case another process built it since.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import marshal
import os
import platform
import re
import shutil
import sqlite3
import zlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, NamedTuple

from kldigital_site.content.discover import SourceKind
from kldigital_site.content.parse import Document
from kldigital_site.content.schema import PartialDate
from kldigital_site.versions import requirements, version

log = logging.getLogger(__name__)

CACHE_DIR_NAME = ".kldigital-cache"
_DB_NAME = "cache.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    part INTEGER PRIMARY KEY, payload BLOB NOT NULL, checksum TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bodies (
    key TEXT PRIMARY KEY, summary TEXT NOT NULL, summary_checksum TEXT NOT NULL,
    html TEXT NOT NULL, html_checksum TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
    target TEXT NOT NULL, path TEXT NOT NULL, fingerprint TEXT NOT NULL,
    templates TEXT NOT NULL, digest TEXT NOT NULL, reads TEXT NOT NULL, search TEXT NOT NULL,
    PRIMARY KEY (target, path));
CREATE TABLE IF NOT EXISTS builds (
    target TEXT PRIMARY KEY, payload BLOB NOT NULL, checksum TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    path TEXT PRIMARY KEY, stat TEXT NOT NULL, digest TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS blobs (
    name TEXT PRIMARY KEY, payload BLOB NOT NULL, checksum TEXT NOT NULL);
"""


@cache
def tool_fingerprint() -> str:
    """Hash of the package's own source files and of what they run on (``installed_versions``):
    any code change, and any other library version, invalidates the cache."""
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    digest.update(json.dumps(installed_versions(), sort_keys=True).encode())
    return digest.hexdigest()


_DISTRIBUTION = "kldigital-site"
_REQUIREMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def installed_versions() -> dict[str, str]:
    """Python's version and that of every library the tool requires, as installed now.

    The requirements allow ranges (pyproject.toml): a CI's fresh install may bring a
    newer Markdown than the job whose cache it restores, and a body rendered by the old
    one must not be taken for what the new one gives."""
    versions = {"python": f"{platform.python_implementation()} {platform.python_version()}"}
    required = requirements(_DISTRIBUTION)
    if required is None:  # run from a source tree without installing
        return versions
    for requirement in required:
        name = _REQUIREMENT_NAME.match(requirement)
        if name is None or "extra ==" in requirement:
            continue  # the test tools do not shape the site
        versions[name[0].lower()] = version(name[0]) or "-"
    return versions


# Up to this many bodies' summaries are asked for by key, more by reading them all.
_FEW_BODIES = 2000

_DISK_FULL = "Zwischenspeicher nicht benutzt: Der Datenträger ist voll."


def _disk_full(exc: Exception) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


def _checksum(payload: str | bytes) -> str:
    data = payload if isinstance(payload, bytes) else payload.encode()
    return hashlib.sha256(data).hexdigest()[:32]


# Up to this many names ``BuildCache.pages_reading`` has SQLite look for in the reads'
# text: each is one more pass over 5 MB of text at 10,000 items, ~5 ms, where Python
# looks for any number in one pass of ~30 ms.
_NAMES_LOOKED_FOR_IN_SQL = 4

# Between the names of a page record's templates and reads: no file or template name
# holds it. Split in one call, where JSON took a decoder's pass for each of 20,000
# distinct lists at 10,000 items (issue 15).
_NAME_SEPARATOR = "\0"


def _joined(names: tuple[str, ...]) -> str | None:
    """``names`` as stored in a page record, or None if one holds the separator."""
    text = _NAME_SEPARATOR.join(names)
    whole = text.count(_NAME_SEPARATOR) == max(len(names) - 1, 0) and "" not in names
    return text if whole else None


class PageRecord(NamedTuple):
    """What a build recorded of one output file (render/pages.py).

    A named tuple, not a frozen dataclass: an edit build at 10,000 items reads 30,000
    of them, and a dataclass's ``__init__`` (a ``object.__setattr__`` per field) made
    that a tenth of a second more (issue 15)."""

    fingerprint: str
    templates: tuple[str, ...]
    digest: str
    # What the page's view read of the bodies ("body:<key>", "summary:<key>", …), render/pages.py
    reads: tuple[str, ...] = ()
    # Digest of what the search indexes of the page (search/extract.py); "" for other pages
    search: str = ""


@dataclass(slots=True)
class CacheMemory:
    """The database's rows as Python values, kept between the builds of one process.

    ``None``: not read yet. Filled on first read, then kept equal to what this
    process wrote. Rows another process writes meanwhile are missed at worst,
    which costs work (a document parsed again), never correctness: documents and
    bodies are keyed by content, and source stats carry inode and change time.
    """

    documents: dict[str, tuple[str, Document]] | None = None
    sources: dict[str, tuple[str, str]] | None = None
    pages: dict[str, dict[str, PageRecord]] = field(default_factory=dict)  # by target
    builds: dict[str, bytes] = field(default_factory=dict)  # target → stored build payload
    decoded: dict[str, tuple[bytes, dict[str, Any]]] = field(default_factory=dict)  # its value

    def clear(self) -> None:
        self.documents = self.sources = None
        self.pages.clear()
        self.builds.clear()
        self.decoded.clear()


class BuildCache:
    """One open cache database; after any database error it acts as an empty cache."""

    def __init__(
        self, directory: Path, *, read_only: bool = False, memory: CacheMemory | None = None
    ) -> None:
        self.directory = directory
        self.read_only = read_only
        self._pid = os.getpid()
        self._child_db: sqlite3.Connection | None = None
        # The documents' parts as read (``_document_parts``): every one, or None.
        self._parts: dict[int, dict[str, tuple[str, bytes]]] | None = None
        # ``document_digests`` as read, for the build's second look (edit_build.py).
        self._document_digests: dict[str, str] | None = None
        # ``source_digests`` as read, for ``store_source_digests`` to compare with.
        self._source_digests: dict[str, tuple[str, str]] | None = None
        # Never shared with ``check``: it must not learn of what it did not write.
        self._memory = memory if not read_only else None
        self._db = self._open_read_only() if read_only else self._open()
        if self._memory is not None and self._db is None:
            self._memory.clear()

    def _open_read_only(self) -> sqlite3.Connection | None:
        """For ``check``, which must write nothing: use the cache if it is there and current."""
        path = self.directory / _DB_NAME
        if not path.is_file():
            return None
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
            row = db.execute("SELECT value FROM info WHERE key='tool'").fetchone()
        except sqlite3.DatabaseError:
            return None
        if row is None or row[0] != tool_fingerprint():
            db.close()
            return None
        return db

    # --- opening, validating, discarding ----------------------------------------

    def _open(self) -> sqlite3.Connection | None:
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / _DB_NAME
        for attempt in (1, 2):
            try:
                db = sqlite3.connect(path, timeout=10, isolation_level=None)
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(_SCHEMA)
                row = db.execute("SELECT value FROM info WHERE key='tool'").fetchone()
                if row is None or row[0] != tool_fingerprint():
                    # Dropped, not emptied: another version may have laid the tables out
                    # differently.
                    db.executescript(
                        "DROP TABLE documents; DROP TABLE bodies; DROP TABLE pages;"
                        "DROP TABLE builds; DROP TABLE info; DROP TABLE sources; DROP TABLE blobs;"
                    )
                    db.executescript(_SCHEMA)
                    db.execute("INSERT INTO info VALUES ('tool', ?)", (tool_fingerprint(),))
                    if self._memory is not None:
                        self._memory.clear()  # it described the tables just dropped
                return db
            except sqlite3.DatabaseError as exc:
                if _disk_full(exc):
                    # Not damaged: kept for the next build, which has room again.
                    log.warning(_DISK_FULL)
                    return None
                log.warning("Zwischenspeicher beschädigt, wird neu angelegt: %s", exc)
                if self._memory is not None:
                    self._memory.clear()
                self._remove_files(path)
                if attempt == 2:
                    break
        return None

    @staticmethod
    def _remove_files(path: Path) -> None:
        for suffix in ("", "-wal", "-shm", "-journal"):
            candidate = Path(f"{path}{suffix}")
            if candidate.is_dir() and not candidate.is_symlink():
                shutil.rmtree(candidate)  # whatever it is, it is not our database
            else:
                candidate.unlink(missing_ok=True)

    @property
    def writable(self) -> bool:
        return self._db is not None and not self.read_only

    def _connection(self) -> sqlite3.Connection | None:
        """The database for this process: forked workers (workers.py) must not use the
        parent's connection (SQLite forbids it), so each opens its own, read-only."""
        if self._db is None or os.getpid() == self._pid:
            return self._db
        if self._child_db is None:
            self._child_db = sqlite3.connect(
                f"file:{self.directory / _DB_NAME}?mode=ro", uri=True, timeout=10
            )
        return self._child_db

    def _query(self, sql: str, params: Iterable[Any] = ()) -> list[Any]:
        db = self._connection()
        if db is None:
            return []
        try:
            return db.execute(sql, tuple(params)).fetchall()
        except sqlite3.DatabaseError as exc:
            if os.getpid() == self._pid:
                self._discard(exc)  # only the build's own process deletes a damaged cache
            return []

    def _write(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        if self._db is None or self.read_only or os.getpid() != self._pid:
            return
        try:
            self._db.execute("BEGIN")
            self._db.executemany(sql, [tuple(r) for r in rows])
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._discard(exc)

    def _discard(self, exc: Exception) -> None:
        self._document_digests = self._source_digests = self._parts = None
        if self._memory is not None:
            self._memory.clear()  # what it says may no longer be what the database holds
        if self._db is not None:
            self._db.close()
        self._db = None
        if _disk_full(exc):
            # SQLite rolled the failed transaction back: what the database holds is whole
            # and stays for the next build; this one goes on without it.
            log.warning(_DISK_FULL)
            return
        log.warning("Zwischenspeicher nicht lesbar, wird verworfen: %s", exc)
        if not self.read_only:
            self._remove_files(self.directory / _DB_NAME)

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    # --- parsed documents --------------------------------------------------------
    # Stored in ``_DOCUMENT_PARTS`` rows by path, each one ``marshal`` value of the
    # (path, digest, encoded document) of its documents under one checksum: at 10,000
    # items one query, 32 checksums and a few loads where 10,000 rows took three times
    # as long to fetch and check (issue 15). A damaged part costs its documents a parse,
    # never trust; a build stores again only the parts whose documents changed.

    def documents(self) -> Mapping[str, tuple[str, Document]]:
        """Every cached document by site-relative path, with the digest it was parsed from."""
        memory = self._memory
        if memory is not None and memory.documents is not None:
            return memory.documents
        result = self._read_documents()
        if memory is not None:
            memory.documents = result
        return result

    def _read_documents(self) -> dict[str, tuple[str, Document]]:
        result: dict[str, tuple[str, Document]] = {}
        for part in self._document_parts().values():
            for path, (digest, payload) in part.items():
                try:
                    result[path] = (digest, decode_document(payload))
                except (ValueError, KeyError, TypeError, IndexError, EOFError):
                    continue
        return result

    def _document_parts(
        self, numbers: Collection[int] | None = None
    ) -> dict[int, dict[str, tuple[str, bytes]]]:
        """The stored parts (of just ``numbers``, if given and not all read yet) that
        pass their checksum and shape, by number: each part's entries by path."""
        if self._parts is not None:
            return self._parts
        query = "SELECT part, payload, checksum FROM documents"
        if numbers is not None:
            query += f" WHERE part IN ({', '.join(str(int(n)) for n in numbers) or 'NULL'})"
        parts: dict[int, dict[str, tuple[str, bytes]]] = {}
        for number, payload, checksum in self._query(query):
            if not isinstance(payload, bytes) or _checksum(payload) != checksum:
                continue
            try:
                form, stored_number, entries = marshal.loads(payload)
                if form != _PARTS_FORMAT or stored_number != number:
                    continue
                parts[number] = {path: (digest, doc) for path, digest, doc in entries}
            except (ValueError, TypeError, EOFError):
                continue  # not what ``_store_parts`` wrote: parsed again, never trusted
        if numbers is None and self._db is not None:
            self._parts = parts
        return parts

    def _store_parts(
        self, parts: Mapping[int, Mapping[str, tuple[str, bytes]]], numbers: Iterable[int]
    ) -> None:
        rows = []
        for number in sorted(set(numbers)):
            entries = sorted(parts.get(number, {}).items())
            payload = marshal.dumps(
                (_PARTS_FORMAT, number, tuple((path, d, doc) for path, (d, doc) in entries))
            )
            rows.append((number, payload, _checksum(payload)))
        self._document_digests = None  # read again when asked for
        if rows:
            self._write("INSERT OR REPLACE INTO documents VALUES (?, ?, ?)", rows)

    # --- source files ---------------------------------------------------------------

    def source_digests(self) -> Mapping[str, tuple[str, str]]:
        """Per source path: the stat it had when hashed, and its digest (build.py)."""
        memory = self._memory
        if memory is not None and memory.sources is not None:
            return memory.sources
        result = {
            path: (stat, digest) for path, stat, digest in self._query("SELECT * FROM sources")
        }
        if memory is not None:
            memory.sources = result
        else:
            self._source_digests = result
        return result

    def store_source_digests(
        self, rows: Mapping[str, tuple[str, str]], keep: Iterable[str]
    ) -> None:
        """Replace ``rows`` (path → (stat, digest)); forget every path not in ``keep``."""
        memory = self._memory
        # What the database holds, as read by ``source_digests`` this build: not read a
        # second time (10,000 rows at 10,000 items).
        known = memory.sources if memory is not None else self._source_digests
        if known is not None:
            stored: set[str] = set(known)
            # Only what differs from the database's rows: most builds change none.
            rows = {path: row for path, row in rows.items() if known.get(path) != row}
        else:
            stored = {path for (path,) in self._query("SELECT path FROM sources")}
        gone = [(path,) for path in stored - set(keep)]
        if gone:
            self._write("DELETE FROM sources WHERE path = ?", gone)
        if rows:
            self._write(
                "INSERT OR REPLACE INTO sources VALUES (?, ?, ?)",
                [(path, stat, digest) for path, (stat, digest) in rows.items()],
            )
        if known is not None:
            for (path,) in gone:
                known.pop(path, None)
            known.update(rows)

    def document_digests(self) -> Mapping[str, str]:
        """The digest each cached document was parsed from (of the parts that pass their
        checksum; the documents themselves are not decoded here)."""
        memory = self._memory
        if memory is not None and memory.documents is not None:
            return {path: digest for path, (digest, _) in memory.documents.items()}
        if self._document_digests is None:
            self._document_digests = {
                path: digest
                for part in self._document_parts().values()
                for path, (digest, _) in part.items()
            }
        return self._document_digests

    def cached_document(self, path: str) -> Document | None:
        """The document cached for the source ``path``, decoded alone; None if there is
        none or it does not decode (an edit build asks for the edited files' last ones
        before parsing stores the new ones, edit_build.py ``edit_candidate``)."""
        memory = self._memory
        if memory is not None and memory.documents is not None:
            found = memory.documents.get(path)
            return found[1] if found is not None else None
        for part in self._document_parts().values():
            entry = part.get(path)
            if entry is not None:
                try:
                    return decode_document(entry[1])
                except (ValueError, KeyError, TypeError, IndexError, EOFError):
                    return None
        return None

    def store_documents(self, documents: Iterable[Document]) -> None:
        memory = self._memory
        encoded: dict[str, tuple[str, bytes]] = {}
        for doc in documents:
            encoded[doc.rel_path] = (doc.digest, encode_document(doc))
            if memory is not None and memory.documents is not None:
                memory.documents[doc.rel_path] = (doc.digest, doc)
        if not encoded:
            return
        numbers = {_document_part(path) for path in encoded}
        parts = self._document_parts(numbers)
        for path, entry in encoded.items():
            parts.setdefault(_document_part(path), {})[path] = entry
        self._store_parts(parts, numbers)

    def forget_documents_except(self, paths: Iterable[str]) -> None:
        keep = set(paths)
        memory = self._memory
        if memory is not None and memory.documents is not None:
            # What the memory holds is what the database holds (or less): a part is
            # read only when one of its documents goes.
            stale = {path for path in memory.documents if path not in keep}
            for path in stale:
                memory.documents.pop(path, None)
            if not stale:
                return
            parts = self._document_parts({_document_part(path) for path in stale})
        else:
            parts = self._document_parts()
        changed = set()
        for number, part in parts.items():
            gone = [path for path in part if path not in keep]
            for path in gone:
                del part[path]
            if gone:
                changed.add(number)
        if changed:
            self._store_parts(parts, changed)

    # --- rendered bodies ---------------------------------------------------------

    def body(self, key: str) -> str | None:
        """The rendered HTML of one body."""
        rows = self._query("SELECT html, html_checksum FROM bodies WHERE key = ?", (key,))
        if not rows or _checksum(rows[0][0]) != rows[0][1]:
            return None
        return str(rows[0][0])

    def bodies(self, keys: Sequence[str]) -> dict[str, str]:
        """The rendered HTML of many bodies, by key, in one query per 500 keys: a render
        worker asks for the bodies of a chunk of pages at once (render/pages.py
        ``_prefetch_bodies``). One query each cost about five times its share while the
        main process wrote to the database, each read a transaction of its own (issue 15).
        A key missing or damaged is left out, as ``body`` gives None for it."""
        found: dict[str, str] = {}
        for start in range(0, len(keys), 500):
            piece = keys[start : start + 500]
            marks = ", ".join("?" * len(piece))
            rows = self._query(
                f"SELECT key, html, html_checksum FROM bodies WHERE key IN ({marks})", piece
            )
            for key, html, checksum in rows:
                if _checksum(html) == checksum:
                    found[key] = str(html)
        return found

    def body_summaries(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Cached bodies without their HTML, for many keys at once.

        HTML lies in a column of its own: an edit build needs the summaries of all
        10,000 bodies but the HTML of only the pages it renders again. Not kept in
        the memory of a long-running process: the preview keeps the bodies of its
        model itself (resident.py), and 10,000 decoded summaries were 19 MB beside them.
        """
        wanted = set(keys)
        query = "SELECT key, summary, summary_checksum FROM bodies"
        rows: list[Any] = []
        if len(wanted) <= _FEW_BODIES:
            # An edit build that knows the other bodies (markdown/kept.py) asks for a few.
            ordered = sorted(wanted)
            for start in range(0, len(ordered), 500):
                piece = ordered[start : start + 500]
                marks = ", ".join("?" * len(piece))
                rows.extend(self._query(f"{query} WHERE key IN ({marks})", piece))
        else:
            rows = self._query(query)
        result: dict[str, dict[str, Any]] = {}
        for key, summary, checksum in rows:
            if key not in wanted or _checksum(summary) != checksum:
                continue
            try:
                value = json.loads(summary)
            except ValueError:
                continue
            if isinstance(value, dict):
                result[key] = value
        return result

    def store_bodies(self, bodies: Mapping[str, dict[str, Any]]) -> None:
        """Store rendered bodies: each a mapping with "html" and its summary fields."""
        rows = []
        for key, value in bodies.items():
            html = str(value["html"])
            fields = {k: v for k, v in value.items() if k != "html"}
            summary = json.dumps(fields, ensure_ascii=False, sort_keys=True)
            rows.append((key, summary, _checksum(summary), html, _checksum(html)))
        if rows:
            self._write("INSERT OR REPLACE INTO bodies VALUES (?, ?, ?, ?, ?)", rows)

    # --- rendered pages ----------------------------------------------------------

    def pages(self, target: str) -> Mapping[str, PageRecord]:
        memory = self._memory
        if memory is not None and self._remembered(target):
            return memory.pages[target]
        result = self._read_pages(target)
        if memory is not None:
            payload = self._build_payload(target)
            if payload is not None:
                memory.pages[target], memory.builds[target] = result, _one_copy(memory, payload)
        return result

    def _remembered(self, target: str) -> bool:
        """The memory's page records of ``target`` are those of the database's last build
        (another process may have built this target since: then they are read again)."""
        memory = self._memory
        return (
            memory is not None
            and target in memory.pages
            and memory.builds.get(target) == self._build_payload(target)
        )

    def _build_payload(self, target: str) -> bytes | None:
        """The stored record of ``target``'s last build, if it passes its checksum."""
        rows = self._query("SELECT payload, checksum FROM builds WHERE target = ?", (target,))
        if not rows or not isinstance(rows[0][0], bytes) or _checksum(rows[0][0]) != rows[0][1]:
            return None
        return rows[0][0]

    def _read_pages(self, target: str) -> dict[str, PageRecord]:
        return self._records(
            "SELECT path, fingerprint, templates, digest, reads, search FROM pages"
            " WHERE target = ?",
            (target,),
        )

    def _records(self, sql: str, params: Iterable[Any]) -> dict[str, PageRecord]:
        result = {}
        # Decoded once per distinct text: 30,000 pages at 10,000 items share 14 template
        # lists, and many pages read the same bodies (a third of an edit build's reading).
        decoded: dict[str, tuple[str, ...]] = {}
        # And each name held once: the lists and topics read the same items' heads and
        # summaries, 400,000 names at 10,000 items but 30,000 different ones (+25 MB).
        interned: dict[str, str] = {}

        def listed(text: str) -> tuple[str, ...]:
            value = decoded[text] = tuple(
                interned.setdefault(n, n) for n in text.split(_NAME_SEPARATOR) if text
            )
            return value

        for path, fingerprint, templates, digest, reads, search in self._query(sql, params):
            if not isinstance(templates, str) or not isinstance(reads, str):
                continue
            names = decoded.get(templates) or listed(templates)
            read = decoded.get(reads) or listed(reads)
            result[path] = PageRecord(fingerprint, names, digest, read, search)
        return result

    def page_records(self, target: str, paths: Iterable[str]) -> dict[str, PageRecord]:
        """The records of just these pages of ``target`` (those it has): an edit of a body
        needs a few hundred of 30,000 (edit_build.py)."""
        ordered = sorted(set(paths))
        result: dict[str, PageRecord] = {}
        for start in range(0, len(ordered), 500):
            piece = ordered[start : start + 500]
            marks = ", ".join("?" * len(piece))
            result.update(
                self._records(
                    "SELECT path, fingerprint, templates, digest, reads, search FROM pages"
                    f" WHERE target = ? AND path IN ({marks})",
                    (target, *piece),
                )
            )
        return result

    def page_count(self, target: str) -> int:
        """How many page records ``target`` has."""
        rows = self._query("SELECT count(*) FROM pages WHERE target = ?", (target,))
        return int(rows[0][0]) if rows else 0

    def pages_reading(self, target: str, names: Collection[str]) -> dict[str, PageRecord]:
        """The records of the pages of ``target`` whose reads include any of ``names``.

        Only the paths and reads are fetched, and a name looked for as text first: at
        10,000 items a fraction of decoding all 30,000 records (``pages``). A few names
        (an edit of a body or a title) SQLite looks for itself, so that only the records
        that may read one reach Python: 30,000 texts of 5 MB at 10,000 items did not."""
        if not names:
            return {}
        wanted = set(names)
        if len(wanted) <= _NAMES_LOOKED_FOR_IN_SQL:
            # As bytes: the reads hold NULs between the names, which SQLite's text
            # functions may take for the end of the text.
            holds = " OR ".join(["instr(CAST(reads AS BLOB), CAST(? AS BLOB)) > 0"] * len(wanted))
            records = self._records(
                "SELECT path, fingerprint, templates, digest, reads, search FROM pages"
                f" WHERE target = ? AND ({holds})",
                (target, *wanted),
            )
            # A name found in the text may be part of another ("body:a.md" in "body:ba.md").
            return {
                path: record
                for path, record in records.items()
                if not wanted.isdisjoint(record.reads)
            }
        found = []
        for path, reads in self._query("SELECT path, reads FROM pages WHERE target = ?", (target,)):
            if (
                isinstance(reads, str)
                and any(name in reads for name in wanted)
                and not wanted.isdisjoint(reads.split(_NAME_SEPARATOR))
            ):
                found.append(path)
        return self.page_records(target, found)

    def search_records(self, target: str, names: Collection[str]) -> dict[str, PageRecord]:
        """The search pages of ``target`` with just what the search index's head start
        reads of them: the digest of what the search reads, and of their reads only those
        among ``names``. One query of three columns: what an edit of a body that goes the
        short way (edit_build.py) can give the head start without decoding all 30,000
        records (``pages``). SQLite looks for the names in the reads, so only those of
        the few pages that may hold one are fetched (a third of the time at 10,000 items)."""
        wanted = sorted(set(names))
        # A page's reads where one of ``names`` occurs in them as text, "" where none
        # does, NULL where they are no text (such a record is skipped, as ever).
        found = " OR ".join("instr(reads, ?)" for _ in wanted) or "0"
        rows = self._query(
            f"SELECT path, CASE WHEN typeof(reads) != 'text' THEN NULL WHEN {found} THEN reads"
            " ELSE '' END, search FROM pages NOT INDEXED WHERE target = ? AND search != ''",
            (*wanted, target),
        )
        result: dict[str, PageRecord] = {}
        for path, reads, search in rows:
            if not isinstance(reads, str) or not isinstance(search, str):
                continue
            read: tuple[str, ...] = ()
            if reads:
                read = tuple(n for n in reads.split(_NAME_SEPARATOR) if n in wanted)
            result[path] = PageRecord("", (), "", read, search)
        return result

    # --- values kept whole ---------------------------------------------------------

    def blobs(self, prefix: str) -> dict[str, bytes]:
        """Every value stored under a name that starts with ``prefix``, by name: those that
        pass their checksum (one query for a value stored in parts, markdown/kept.py)."""
        rows = self._query(
            "SELECT name, payload, checksum FROM blobs WHERE substr(name, 1, ?) = ?",
            (len(prefix), prefix),
        )
        return {
            str(name): payload
            for name, payload, checksum in rows
            if isinstance(payload, bytes) and hashlib.sha256(payload).hexdigest()[:32] == checksum
        }

    def store_blobs(self, payloads: Mapping[str, bytes]) -> None:
        """Several values, each as one row, in one transaction."""
        rows = [
            (name, payload, hashlib.sha256(payload).hexdigest()[:32])
            for name, payload in payloads.items()
        ]
        if rows:
            self._write("INSERT OR REPLACE INTO blobs VALUES (?, ?, ?)", rows)

    # --- whole builds ------------------------------------------------------------

    def last_build(self, target: str) -> dict[str, Any] | None:
        payload = self._build_payload(target)
        memory = self._memory
        if memory is not None and payload is not None:
            seen = memory.decoded.get(target)
            if seen is not None and seen[0] == payload:
                return seen[1]  # 20,000 body signatures, decoded once
        try:
            value = marshal.loads(payload) if payload is not None else None
        except (ValueError, EOFError, TypeError):
            return None
        if not isinstance(value, dict):
            return None
        if memory is not None and payload is not None:
            memory.decoded[target] = (_one_copy(memory, payload), value)
        return value

    def store_build(
        self,
        target: str,
        records: Mapping[str, PageRecord],
        value: Mapping[str, Any],
        previous: Mapping[str, PageRecord] | None = None,
        *,
        partial: bool = False,
    ) -> None:
        """The pages of a build and what it was made from, in one transaction: page
        records must never be paired with another build's inputs (render/pages.py compares them).

        ``previous``: the records now stored for ``target``; only what differs from them
        is written (an edit build changes a handful of 10,000 rows). ``partial``:
        ``records`` and ``previous`` are those of some pages only, the others stay as
        stored (edit_build.py).
        """
        if self._db is None or self.read_only:
            return
        stored = previous or {}
        # A page kept unrendered carries its very record: identity decides for most.
        changed = [
            (path, r)
            for path, r in records.items()
            if (old := stored.get(path)) is not r and old != r
        ]
        removed = [(target, path) for path in stored if path not in records]
        rows = []
        for path, r in changed:
            templates, reads = _joined(r.templates), _joined(r.reads)
            if templates is None or reads is None:
                removed.append((target, path))  # no record: the page is made again next time
                continue
            rows.append((target, path, r.fingerprint, templates, r.digest, reads, r.search))
        # ``marshal``, checked by its checksum (``_build_payload``) as every row: JSON took
        # 40 ms to write and 12 ms to read back at 10,000 items, on every edit (issue 15).
        payload = marshal.dumps(dict(value))
        memory = self._memory
        if memory is not None:
            # Forgotten first: if the transaction fails, the memory must not claim it.
            memory.pages.pop(target, None)
            memory.builds.pop(target, None)
            # The last build's payload decoded: at 10,000 items two 7 MB strings and the
            # values of 30,000 digests, which the next build would decode anew anyway.
            memory.decoded.pop(target, None)
        try:
            self._db.execute("BEGIN")
            if previous is None:
                self._db.execute("DELETE FROM pages WHERE target = ?", (target,))
            self._db.executemany("DELETE FROM pages WHERE target = ? AND path = ?", removed)
            self._db.executemany("INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            self._db.execute(
                "INSERT OR REPLACE INTO builds VALUES (?, ?, ?)",
                (target, payload, _checksum(payload)),
            )
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._discard(exc)
            return
        if memory is not None and not partial:
            memory.pages[target], memory.builds[target] = dict(records), payload


def _one_copy(memory: CacheMemory, payload: bytes) -> bytes:
    """``payload``, or the equal value the memory holds already: each read from the
    database is a copy of its own (7 MB at 10,000 items, kept by the preview)."""
    for known in (*memory.builds.values(), *(seen for seen, _ in memory.decoded.values())):
        if known == payload:
            return known
    return payload


# --- codec for documents -------------------------------------------------------------
# A document is one ``marshal`` value of plain tuples, dicts and strings: it loads in one
# call and builds nothing but those values (unlike pickle, no code runs). The few values
# marshal has no type for (dates, ``PartialDate``) stand apart as patches, each with its
# place in the front matter, so no editor's value can pass for one. JSON with a tag per
# value took half again as long to decode 10,000 documents per edit build (issue 15).

_DOCUMENT_FORMAT = 3  # what the stored tuple looks like; another one is not read
_DOCUMENT_PARTS = 32  # about 300 documents each at 10,000 items
_PARTS_FORMAT = 1  # what a stored part looks like (``BuildCache._store_parts``)


def _document_part(path: str) -> int:
    return zlib.crc32(path.encode()) % _DOCUMENT_PARTS


_DATETIME, _DATE, _PARTIAL_DATE = 0, 1, 2

_Patch = tuple[tuple[Any, ...], int, Any]


def _plain(value: Any, place: tuple[Any, ...], patches: list[_Patch]) -> Any:
    """``value`` with each value marshal cannot hold replaced by None and noted in
    ``patches`` with its place."""
    if isinstance(value, dt.datetime):
        patches.append((place, _DATETIME, value.isoformat()))
        return None
    if isinstance(value, dt.date):
        patches.append((place, _DATE, value.isoformat()))
        return None
    if isinstance(value, PartialDate):
        patches.append((place, _PARTIAL_DATE, (value.year, value.month, value.day)))
        return None
    if isinstance(value, tuple):
        return tuple(_plain(v, (*place, i), patches) for i, v in enumerate(value))
    if isinstance(value, list):
        return [_plain(v, (*place, i), patches) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _plain(v, (*place, k), patches) for k, v in value.items()}
    return value


def _patched(container: Any, place: tuple[Any, ...], value: Any) -> Any:
    """``container`` with ``value`` at ``place``: tuples are made anew on the way."""
    step, rest = place[0], place[1:]
    new = _patched(container[step], rest, value) if rest else value
    if isinstance(container, tuple):
        return (*container[:step], new, *container[step + 1 :])
    container[step] = new
    return container


def _value(tag: int, data: Any) -> Any:
    if tag == _DATETIME:
        return dt.datetime.fromisoformat(data)
    if tag == _DATE:
        return dt.date.fromisoformat(data)
    if tag == _PARTIAL_DATE:
        year, month, day = data
        return PartialDate(year, month, day)
    raise ValueError(f"unknown tag {tag}")


def encode_document(doc: Document) -> bytes:
    patches: list[_Patch] = []
    meta = _plain(dict(doc.meta), (), patches)
    return marshal.dumps(
        (
            _DOCUMENT_FORMAT,
            doc.rel_path,
            doc.content_path,
            doc.kind.value,
            doc.slug,
            meta,
            dict(doc.lines),
            doc.body_line,
            doc.digest,
            doc.head_digest,
            tuple(patches),
        )
    )


_KINDS = {kind.value: kind for kind in SourceKind}


def decode_document(payload: bytes) -> Document:
    if not isinstance(payload, bytes):
        raise TypeError("not a stored document")
    form, rel_path, content_path, kind, slug, meta, lines, body_line, digest, head, patches = (
        marshal.loads(payload)
    )
    if form != _DOCUMENT_FORMAT or not isinstance(meta, dict) or type(lines) is not dict:
        raise ValueError("not a stored document")
    for place, tag, data in patches:
        if not place:
            raise ValueError("a patch without a place")
        if len(place) == 1:
            meta[place[0]] = _value(tag, data)  # a date of the front matter itself: most
        else:
            meta = _patched(meta, tuple(place), _value(tag, data))
    # Positional, and the lines as marshal made them (a dict of its own, checked by
    # type): 10,000 documents per edit build, where keywords and a copy of each dict
    # were a fifth of their decoding (issue 15).
    return Document(
        str(rel_path),
        str(content_path),
        _KINDS[kind],
        str(slug),
        meta,
        lines,
        None,  # the body: read again from the file only when it must be rendered again
        int(body_line),
        str(digest),
        str(head),
    )
