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
pages). JSON, not pickle, so nothing in it can run code (Pelican ``cache.py`` is
the anti-pattern).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import platform
import re
import shutil
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

from kldigital_site.content.discover import SourceKind
from kldigital_site.content.parse import Document
from kldigital_site.content.schema import PartialDate

log = logging.getLogger(__name__)

CACHE_DIR_NAME = ".kldigital-cache"
_DB_NAME = "cache.sqlite"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    path TEXT PRIMARY KEY, digest TEXT NOT NULL, payload TEXT NOT NULL, checksum TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bodies (
    key TEXT PRIMARY KEY, summary TEXT NOT NULL, summary_checksum TEXT NOT NULL,
    html TEXT NOT NULL, html_checksum TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pages (
    target TEXT NOT NULL, path TEXT NOT NULL, fingerprint TEXT NOT NULL,
    templates TEXT NOT NULL, digest TEXT NOT NULL, reads TEXT NOT NULL, search TEXT NOT NULL,
    PRIMARY KEY (target, path));
CREATE TABLE IF NOT EXISTS builds (target TEXT PRIMARY KEY, payload TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    path TEXT PRIMARY KEY, stat TEXT NOT NULL, digest TEXT NOT NULL);
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
    try:
        requirements = metadata.requires(_DISTRIBUTION) or []
    except metadata.PackageNotFoundError:  # run from a source tree without installing
        return versions
    for requirement in requirements:
        name = _REQUIREMENT_NAME.match(requirement)
        if name is None or "extra ==" in requirement:
            continue  # the test tools do not shape the site
        try:
            versions[name[0].lower()] = metadata.version(name[0])
        except metadata.PackageNotFoundError:
            versions[name[0].lower()] = "-"
    return versions


_DISK_FULL = "Zwischenspeicher nicht benutzt: Der Datenträger ist voll."


def _disk_full(exc: Exception) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL


def _checksum(payload: str) -> str:
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class PageRecord:
    fingerprint: str
    templates: tuple[str, ...]
    digest: str
    # What the page's view read of the bodies ("body:<key>", "summary:<key>", …), render/pages.py
    reads: tuple[str, ...] = ()
    # Digest of what the search indexes of the page (search/extract.py); "" for other pages
    search: str = ""


class BuildCache:
    """One open cache database; after any database error it acts as an empty cache."""

    def __init__(self, directory: Path, *, read_only: bool = False) -> None:
        self.directory = directory
        self.read_only = read_only
        self._pid = os.getpid()
        self._child_db: sqlite3.Connection | None = None
        self._db = self._open_read_only() if read_only else self._open()

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
                        "DROP TABLE builds; DROP TABLE info; DROP TABLE sources;"
                    )
                    db.executescript(_SCHEMA)
                    db.execute("INSERT INTO info VALUES ('tool', ?)", (tool_fingerprint(),))
                return db
            except sqlite3.DatabaseError as exc:
                if _disk_full(exc):
                    # Not damaged: kept for the next build, which has room again.
                    log.warning(_DISK_FULL)
                    return None
                log.warning("Zwischenspeicher beschädigt, wird neu angelegt: %s", exc)
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

    def documents(self) -> dict[str, tuple[str, Document]]:
        """Every cached document by site-relative path, with the digest it was parsed from."""
        result: dict[str, tuple[str, Document]] = {}
        for path, digest, payload, checksum in self._query(
            "SELECT path, digest, payload, checksum FROM documents"
        ):
            if _checksum(payload) != checksum:
                continue
            try:
                result[path] = (digest, decode_document(payload))
            except (ValueError, KeyError, TypeError):
                continue
        return result

    # --- source files ---------------------------------------------------------------

    def source_digests(self) -> dict[str, tuple[str, str]]:
        """Per source path: the stat it had when hashed, and its digest (build.py)."""
        return {path: (stat, digest) for path, stat, digest in self._query("SELECT * FROM sources")}

    def store_source_digests(
        self, rows: Mapping[str, tuple[str, str]], keep: Iterable[str]
    ) -> None:
        """Replace ``rows`` (path → (stat, digest)); forget every path not in ``keep``."""
        stored = {path for (path,) in self._query("SELECT path FROM sources")}
        gone = [(path,) for path in stored - set(keep)]
        if gone:
            self._write("DELETE FROM sources WHERE path = ?", gone)
        if rows:
            self._write(
                "INSERT OR REPLACE INTO sources VALUES (?, ?, ?)",
                [(path, stat, digest) for path, (stat, digest) in rows.items()],
            )

    def document_digests(self) -> dict[str, str]:
        """The digest each cached document was parsed from (its payload is not checked here)."""
        return dict(self._query("SELECT path, digest FROM documents"))

    def store_documents(self, documents: Iterable[Document]) -> None:
        rows = []
        for doc in documents:
            payload = encode_document(doc)
            rows.append((doc.rel_path, doc.digest, payload, _checksum(payload)))
        if rows:
            self._write("INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?)", rows)

    def forget_documents_except(self, paths: Iterable[str]) -> None:
        keep = set(paths)
        stale = [(p,) for (p,) in self._query("SELECT path FROM documents") if p not in keep]
        if stale:
            self._write("DELETE FROM documents WHERE path = ?", stale)

    # --- rendered bodies ---------------------------------------------------------

    def body(self, key: str) -> str | None:
        """The rendered HTML of one body."""
        rows = self._query("SELECT html, html_checksum FROM bodies WHERE key = ?", (key,))
        if not rows or _checksum(rows[0][0]) != rows[0][1]:
            return None
        return str(rows[0][0])

    def body_summaries(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Cached bodies without their HTML, for many keys at once.

        HTML lies in a column of its own: an edit build needs the summaries of all
        10,000 bodies but the HTML of only the pages it renders again.
        """
        wanted = set(keys)
        result: dict[str, dict[str, Any]] = {}
        for key, summary, checksum in self._query(
            "SELECT key, summary, summary_checksum FROM bodies"
        ):
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
            summary = json.dumps(
                {k: v for k, v in value.items() if k != "html"}, ensure_ascii=False, sort_keys=True
            )
            rows.append((key, summary, _checksum(summary), html, _checksum(html)))
        if rows:
            self._write("INSERT OR REPLACE INTO bodies VALUES (?, ?, ?, ?, ?)", rows)

    # --- rendered pages ----------------------------------------------------------

    def pages(self, target: str) -> dict[str, PageRecord]:
        result = {}
        for path, fingerprint, templates, digest, reads, search in self._query(
            "SELECT path, fingerprint, templates, digest, reads, search FROM pages"
            " WHERE target = ?",
            (target,),
        ):
            try:
                names = tuple(json.loads(templates))
                read = tuple(json.loads(reads))
            except ValueError:
                continue
            result[path] = PageRecord(fingerprint, names, digest, read, search)
        return result

    # --- whole builds ------------------------------------------------------------

    def last_build(self, target: str) -> dict[str, Any] | None:
        rows = self._query("SELECT payload FROM builds WHERE target = ?", (target,))
        try:
            value = json.loads(rows[0][0]) if rows else None
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    def store_build(
        self,
        target: str,
        records: Mapping[str, PageRecord],
        value: Mapping[str, Any],
        previous: Mapping[str, PageRecord] | None = None,
    ) -> None:
        """The pages of a build and what it was made from, in one transaction: page
        records must never be paired with another build's inputs (render/pages.py compares them).

        ``previous``: the records now stored for ``target``; only what differs from them
        is written (an edit build changes a handful of 10,000 rows).
        """
        if self._db is None or self.read_only:
            return
        stored = previous or {}
        changed = [(path, r) for path, r in records.items() if stored.get(path) != r]
        removed = [(target, path) for path in stored if path not in records]
        try:
            self._db.execute("BEGIN")
            if previous is None:
                self._db.execute("DELETE FROM pages WHERE target = ?", (target,))
            self._db.executemany("DELETE FROM pages WHERE target = ? AND path = ?", removed)
            self._db.executemany(
                "INSERT OR REPLACE INTO pages VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        target,
                        path,
                        r.fingerprint,
                        json.dumps(list(r.templates)),
                        r.digest,
                        json.dumps(list(r.reads)),
                        r.search,
                    )
                    for path, r in changed
                ],
            )
            self._db.execute(
                "INSERT OR REPLACE INTO builds VALUES (?, ?)",
                (target, json.dumps(value, ensure_ascii=False, sort_keys=True)),
            )
            self._db.execute("COMMIT")
        except sqlite3.DatabaseError as exc:
            self._discard(exc)


# --- JSON codec for documents ------------------------------------------------------
# Every JSON object in a payload is one tagged value ({"$d": …}, {"$m": [[k, v], …]});
# mappings become lists of pairs, so no editor's key can pass for a tag. That lets
# json.loads rebuild the values through an object hook instead of a second walk in
# Python over 10,000 documents on every build.


def _encode_value(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, dt.date):
        return {"$d": value.isoformat()}
    if isinstance(value, PartialDate):
        return {"$p": [value.year, value.month, value.day]}
    if isinstance(value, tuple):
        return {"$t": [_encode_value(v) for v in value]}
    if isinstance(value, list):
        return [_encode_value(v) for v in value]
    if isinstance(value, dict):
        return {"$m": [[k, _encode_value(v)] for k, v in value.items()]}
    return value


def _decode_tagged(value: dict[str, Any]) -> Any:
    if len(value) != 1:
        raise ValueError("not a tagged value")
    ((tag, data),) = value.items()
    if tag == "$m":
        return {str(k): v for k, v in data}
    if tag == "$dt":
        return dt.datetime.fromisoformat(data)
    if tag == "$d":
        return dt.date.fromisoformat(data)
    if tag == "$p":
        year, month, day = data
        return PartialDate(year, month, day)
    if tag == "$t":
        return tuple(data)
    raise ValueError(f"unknown tag {tag}")


def encode_document(doc: Document) -> str:
    return json.dumps(
        [
            doc.rel_path,
            doc.content_path,
            doc.kind.value,
            doc.slug,
            _encode_value(dict(doc.meta)),
            [[k, v] for k, v in doc.lines.items()],
            doc.body_line,
            doc.digest,
            doc.head_digest,
        ],
        ensure_ascii=False,
    )


def decode_document(payload: str) -> Document:
    rel_path, content_path, kind, slug, meta, lines, body_line, digest, head = json.loads(
        payload, object_hook=_decode_tagged
    )
    if not isinstance(meta, dict):
        raise ValueError("meta is not a mapping")
    return Document(
        rel_path=str(rel_path),
        content_path=str(content_path),
        kind=SourceKind(kind),
        slug=str(slug),
        meta=meta,
        lines={str(k): int(v) for k, v in lines},
        body=None,  # re-read from the file only when the body must be rendered again
        body_line=int(body_line),
        digest=str(digest),
        head_digest=str(head),
    )
