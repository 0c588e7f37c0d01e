"""What the dev server answers, without any socket: request line → ``Response``.

Input: a request method and target, the staging folder of the last good build
and the ``LiveState`` shared with the build loop. Output: a ``Response`` —
a file of the site (HTML with the reload script injected, at serve time
only), a redirect, the site's 404 page, the dev server's own script and style,
or the long-poll answer that tells a tab to reload or to show build errors.

Only files under the served folder are ever answered: encoded separators,
backslashes, NUL, dot segments, hidden names and symlinks leading out are 404.
Only requests addressed to the preview itself are answered (``host_allowed``):
the preview shows drafts and embargoed releases, and a page elsewhere could
otherwise read them through DNS rebinding (Vite, GHSA-vg6x-rcgg-rjx6).
``serve/server.py`` puts this behind a socket; tests drive it directly (MkDocs
``testing_server``).
"""

from __future__ import annotations

import html
import json
import mimetypes
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import BinaryIO
from urllib.parse import parse_qs, unquote, urlsplit

from kldigital_site.errors import SiteError
from kldigital_site.serve.assets import (
    CALLBACK,
    LIVERELOAD_JS,
    OVERLAY_CSS,
    POLL_URL,
    PREFIX,
    SCRIPT_URL,
    STYLE_URL,
)
from kldigital_site.serve.origin import PREVIEW_ORIGIN, with_origin

POLL_TIMEOUT = 25.0  # below the usual proxy and browser idle limits

_ENCODED_SEPARATOR = re.compile(r"%(2f|5c|00)", re.IGNORECASE)
_BODY_END = re.compile(rb"</body\s*>", re.IGNORECASE)
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
    # The newsroom's files (render/newsroom.py): a release as e-mail, contact cards.
    ".eml": "message/rfc822",
    ".vcf": "text/vcard; charset=utf-8",
    ".svg": "image/svg+xml",
    ".webmanifest": "application/manifest+json",
}


# --- shared state between the build loop and request threads ----------------------


@dataclass(frozen=True, slots=True)
class Snapshot:
    site: int  # version of the last good build; 0 = none yet
    state: int  # version of the last build attempt, good or bad
    problems: tuple[SiteError, ...]

    def payload(self) -> dict[str, object]:
        return {
            "site": self.site,
            "state": self.state,
            "problems": [
                {
                    "where": f"{p.path}:{p.line}" if p.line > 0 else p.path,
                    "message": p.message,
                }
                for p in self.problems
            ],
        }


def _stamp(previous: int) -> int:
    # Milliseconds of wall time: versions stay unique across server restarts, so
    # a tab left open while the server restarted reloads instead of waiting.
    return max(previous + 1, time.time_ns() // 1_000_000)


class LiveState:
    """Versions of the site, the current problems, and a readers/builder lock.

    Requests read files while no build runs; a build waits until the requests
    that already opened a file are done (writer preference, so a stream of
    requests cannot starve the builder).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._snapshot = Snapshot(0, 0, ())
        self._building = False
        self._readers = 0
        self._closed = False

    @property
    def snapshot(self) -> Snapshot:
        with self._cond:
            return self._snapshot

    def begin_build(self) -> None:
        with self._cond:
            self._building = True
            self._cond.wait_for(lambda: self._readers == 0)

    def end_build(self, problems: Sequence[SiteError], *, site_changed: bool) -> Snapshot:
        with self._cond:
            old = self._snapshot
            state = _stamp(old.state)
            self._snapshot = Snapshot(state if site_changed else old.site, state, tuple(problems))
            self._building = False
            self._cond.notify_all()
            return self._snapshot

    @contextmanager
    def reading(self) -> Iterator[Snapshot]:
        with self._cond:
            self._cond.wait_for(lambda: not self._building or self._closed)
            self._readers += 1
            snapshot = self._snapshot
        try:
            yield snapshot
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    def wait_newer(self, since: int, timeout: float) -> Snapshot:
        with self._cond:
            self._cond.wait_for(lambda: self._snapshot.state > since or self._closed, timeout)
            return self._snapshot

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()


# --- whom the preview answers ---------------------------------------------------------

_LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "[::1]"})
_HOST_HEADER = re.compile(r"(\[[0-9a-f:.]+\]|[^:\[\]]+)(?::(\d{1,5}))?")


def allowed_hosts(listening: str) -> frozenset[str]:
    """The names a request may give in ``Host``: loopback, and the address listened on."""
    name = listening.strip().lower()
    if ":" in name and not name.startswith("["):
        name = f"[{name}]"  # an IPv6 address appears bracketed in a Host header
    return _LOOPBACK_NAMES | ({name} if name else frozenset())


def host_allowed(header: str | None, allowed: frozenset[str]) -> bool:
    """Whether a request's ``Host`` names the preview (any port: it may sit behind one)."""
    if header is None:
        return False  # every browser sends one; a request without it is not a tab's
    match = _HOST_HEADER.fullmatch(header.strip().lower())
    return match is not None and match.group(1) in allowed


def refused_host(header: str | None) -> Response:
    """What a request for another host gets: an error page, nothing of the site."""
    body = _FOREIGN_HOST.format(host=html.escape(header or "(keine Angabe)")).encode()
    return Response(HTTPStatus.FORBIDDEN, _headers("text/html; charset=utf-8"), body=body)


# --- requests → responses, without a socket -------------------------------------------


@dataclass(slots=True)
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    stream: BinaryIO | None = None  # large files: streamed after the read lock is released
    length: int | None = None  # of the stream, or of the body a HEAD request leaves out

    @property
    def size(self) -> int:
        return self.length if self.length is not None else len(self.body)

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)


class DevSite:
    """Answers requests from the staging folder of the last good build."""

    def __init__(
        self,
        site_dir: Path,
        state: LiveState,
        base_path: str = "/",
        origin: str = PREVIEW_ORIGIN,
    ) -> None:
        self.site_dir = site_dir
        self.state = state
        self.base_path = base_path
        self.origin = origin  # put in place of the origin the pages were built with
        self.poll_timeout = POLL_TIMEOUT

    def respond(self, method: str, target: str) -> Response:
        if method not in ("GET", "HEAD"):
            return Response(HTTPStatus.METHOD_NOT_ALLOWED, [("Allow", "GET, HEAD")])
        raw_path, query = _split_target(target)
        if raw_path.startswith(PREFIX):
            return self._own(raw_path, query)
        with self.state.reading() as snapshot:
            response = self._file(raw_path, query, snapshot)
        if method == "HEAD":
            response.length = response.size
            if response.stream is not None:
                response.stream.close()
            response.stream, response.body = None, b""
        return response

    # -- the dev server's own files --------------------------------------------------

    def _own(self, raw_path: str, query: str) -> Response:
        if raw_path == SCRIPT_URL:
            return _text(LIVERELOAD_JS, "text/javascript; charset=utf-8")
        if raw_path == STYLE_URL:
            return _text(OVERLAY_CSS, "text/css; charset=utf-8")
        if raw_path == POLL_URL:
            values = parse_qs(query).get("since", ["-1"])
            try:
                since = int(values[0])
            except ValueError:
                since = -1
            snapshot = self.state.wait_newer(since, self.poll_timeout)
            payload = json.dumps(snapshot.payload(), ensure_ascii=False)
            return _text(
                f"window.{CALLBACK} && window.{CALLBACK}({payload});\n",
                "text/javascript; charset=utf-8",
            )
        return _text("Nicht gefunden.\n", "text/plain; charset=utf-8", HTTPStatus.NOT_FOUND)

    # -- files of the built site ----------------------------------------------------

    def _file(self, raw_path: str, query: str, snapshot: Snapshot) -> Response:
        if snapshot.site == 0:
            return self._html(_NO_SITE_YET.encode(), snapshot, HTTPStatus.SERVICE_UNAVAILABLE)
        path = _decode_path(raw_path)
        if path is None:
            return self._not_found(snapshot)
        if not path.startswith(self.base_path):
            if path == "/" or path + "/" == self.base_path:
                return _redirect(self.base_path)
            return self._not_found(snapshot)
        rel = path[len(self.base_path) :]
        candidate = self.site_dir / rel if rel else self.site_dir
        if candidate.is_dir():
            if rel and not path.endswith("/"):
                return _redirect(path + "/" + (f"?{query}" if query else ""))
            candidate = candidate / "index.html"
        elif path.endswith("/"):
            return self._not_found(snapshot)
        if not self._inside(candidate) or not candidate.is_file():
            return self._not_found(snapshot)
        return self._serve_file(candidate, snapshot, HTTPStatus.OK)

    def _inside(self, candidate: Path) -> bool:
        # Symlinks must not lead out of the served folder.
        root = os.path.realpath(self.site_dir)
        return os.path.commonpath([root, os.path.realpath(candidate)]) == root

    def _serve_file(self, file: Path, snapshot: Snapshot, status: int) -> Response:
        content_type = _content_type(file)
        if content_type.startswith("text/html"):
            return self._html(with_origin(file.read_bytes(), self.origin), snapshot, status)
        if _is_text(content_type):
            # Feeds, sitemap, robots.txt, the newsroom's mail and contact cards: small
            # files whose absolute links name the preview (serve/origin.py).
            folded = content_type.startswith(_FOLDED_TYPES)
            body = with_origin(file.read_bytes(), self.origin, folded=folded)
            return Response(status, _headers(content_type), body=body)
        stream = file.open("rb")
        size = os.fstat(stream.fileno()).st_size
        return Response(status, _headers(content_type), stream=stream, length=size)

    def _not_found(self, snapshot: Snapshot) -> Response:
        page = self.site_dir / "404.html"
        if page.is_file():
            return self._serve_file(page, snapshot, HTTPStatus.NOT_FOUND)
        return self._html(_NOT_FOUND.encode(), snapshot, HTTPStatus.NOT_FOUND)

    def _html(self, body: bytes, snapshot: Snapshot, status: int) -> Response:
        data = inject_script(body, snapshot.site)
        return Response(status, _headers("text/html; charset=utf-8"), body=data)


def inject_script(html: bytes, site_version: int) -> bytes:
    """The reload script before the last ``</body>`` (or at the end): served only."""
    tag = f'<script src="{SCRIPT_URL}" data-site="{site_version}" defer></script>'.encode()
    matches = list(_BODY_END.finditer(html))
    at = matches[-1].start() if matches else len(html)
    return html[:at] + tag + html[at:]


def _split_target(target: str) -> tuple[str, str]:
    """Path and query of a request target. Not ``urlsplit``: it reads "//x" as a host."""
    if target.startswith(("http://", "https://")):  # absolute form, as sent to proxies
        parts = urlsplit(target)
        return parts.path or "/", parts.query
    path, _, query = target.partition("?")
    return path.partition("#")[0], query


def _decode_path(raw_path: str) -> str | None:
    """The decoded URL path, or None when it could leave the site folder.

    Encoded slashes, backslashes and NUL are refused before decoding, ``.``
    and ``..`` segments and hidden names (``.kldigital-manifest.json``) after.
    """
    if "\\" in raw_path or _ENCODED_SEPARATOR.search(raw_path):
        return None
    try:
        path = unquote(raw_path, errors="strict")
    except UnicodeDecodeError:
        return None
    if "\\" in path or "\x00" in path or "//" in path or not path.startswith("/"):
        return None
    segments = path.split("/")[1:]
    if any(s in (".", "..") or s.startswith(".") for s in segments):
        return None
    return path


def _content_type(path: Path) -> str:
    suffix = path.suffix.lower()
    if path.name == "feed.xml":
        return "application/atom+xml; charset=utf-8"
    return _TYPES.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"


# Types whose lines are folded (quoted-printable mail, vCard), maybe inside an address.
_FOLDED_TYPES = ("message/rfc822", "text/vcard")


def _is_text(content_type: str) -> bool:
    return content_type.startswith(("text/", "message/")) or any(
        kind in content_type for kind in ("xml", "json")
    )


def _headers(content_type: str) -> list[tuple[str, str]]:
    # no-store: a reload must always show the newest build.
    return [
        ("Content-Type", content_type),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
    ]


def _text(text: str, content_type: str, status: int = HTTPStatus.OK) -> Response:
    return Response(status, _headers(content_type), body=text.encode())


def _redirect(location: str) -> Response:
    return Response(HTTPStatus.FOUND, [("Location", location), ("Cache-Control", "no-store")])


_NO_SITE_YET = """<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8"><title>Vorschau – noch keine Website</title></head>
<body><main><h1>Die Website konnte noch nicht erzeugt werden</h1>
<p>Die Fehler stehen im Kasten auf dieser Seite und im Terminal. Sobald die Datei
korrigiert und gespeichert ist, lädt die Seite von selbst neu.</p></main>
</body></html>
"""
_FOREIGN_HOST = """<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8"><title>Anfrage abgelehnt</title></head>
<body><main><h1>Anfrage abgelehnt</h1>
<p>Die Vorschau von kldigital-site antwortet nur unter der Adresse, an der sie
lauscht (z.&nbsp;B. http://127.0.0.1:8000/ oder http://localhost:8000/), nicht unter
„{host}“. Sie zeigt Entwürfe und Meldungen mit Sperrfrist; andere Websites sollen
sie nicht lesen können. Für andere Geräte im Netz: <code>--host</code> mit der Adresse
dieses Rechners angeben und die Vorschau unter genau dieser Adresse öffnen.</p></main>
</body></html>
"""
_NOT_FOUND = """<!DOCTYPE html>
<html lang="de"><head><meta charset="utf-8"><title>Seite nicht gefunden</title></head>
<body><main><h1>Seite nicht gefunden</h1></main></body></html>
"""
