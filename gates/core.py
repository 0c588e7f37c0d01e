"""Values shared by the gates: a site under test, a finding, a gate's result.

Input: nothing but paths and URLs. Output: plain frozen values that the gate
modules (html, links, a11y, feeds, screenshots) take and return, so each gate
can be run on a hand-made tree in a test as well as on a real build.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

#: Where the gates write what they build and show (gitignored).
DEFAULT_OUTPUT = Path("output-gates")

# Quoted or not: the published pages are minified (`content=noindex name=robots`).
_NOINDEX = re.compile(
    rb"<meta\s[^>]*name=[\"']?robots[\"']?[^>]*content=[\"']?[^\"'>]*noindex", re.IGNORECASE
)
_NOINDEX_REVERSED = re.compile(
    rb"<meta\s[^>]*content=[\"']?[^\"'>]*noindex[^>]*name=[\"']?robots", re.IGNORECASE
)
# The page the build writes at an old address (``aliases:``): meta refresh to the new one.
_REFRESH = re.compile(
    rb"<meta\s[^>]*http-equiv=[\"']?refresh[\"']?[^>]*content=[\"']\s*\d+\s*;\s*url=([^\"']+)",
    re.IGNORECASE,
)


def refresh_target(html: bytes) -> str | None:
    """The URL a `<meta http-equiv="refresh" content="0; url=…">` page sends to, if any."""
    found = _REFRESH.search(html[:20000])
    return found[1].decode("utf-8", errors="replace").strip() if found else None


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem a gate found: which build, where in it, which rule, what."""

    site: str
    where: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"[{self.site}] {self.where}: {self.rule}: {self.message}"


@dataclass(slots=True)
class GateResult:
    """What one gate reports: its findings and the text of its summary line."""

    gate: str
    summary: str
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def summary_line(self) -> str:
        return f"{self.gate}: {self.summary}"


@dataclass(frozen=True, slots=True)
class Site:
    """A generated tree as the gates see it.

    `base_url` is the absolute URL the tree was built for (it ends in `/`);
    `origin` is where the gate's nginx serves it (`http://127.0.0.1:PORT`),
    empty until it is served. The tree is served under the path of
    `base_url`, so a sub-path build is served under its sub-path.
    """

    name: str
    root: Path
    base_url: str
    origin: str = ""

    def __post_init__(self) -> None:
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{self.name}: base URL must be absolute: {self.base_url!r}")
        if not parts.path.endswith("/"):
            raise ValueError(f"{self.name}: base URL must end in '/': {self.base_url!r}")

    def served_at(self, origin: str) -> Site:
        return dataclasses.replace(self, origin=origin.rstrip("/"))

    @property
    def base_path(self) -> str:
        """The path of the base URL: `/` or `/sub/`."""
        return urlsplit(self.base_url).path

    @property
    def entry_url(self) -> str:
        """The served URL of the home page."""
        self._require_served()
        return self.origin + self.base_path

    def _require_served(self) -> None:
        if not self.origin:
            raise RuntimeError(f"site {self.name} is not served yet")

    def to_served(self, url: str) -> str | None:
        """Map an absolute URL of this site to the URL the gate serves it at.

        URLs that start with the base URL the site was built for (the
        production host, say) and URLs on the serving origin are the site's;
        anything else is external and gives None.
        """
        self._require_served()
        if url.startswith(self.base_url):
            return self.origin + self.base_path + url[len(self.base_url) :]
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" == self.origin:
            return url
        return None

    def to_public(self, served_url: str) -> str:
        """The inverse of `to_served` for URLs under the base path."""
        prefix = self.origin + self.base_path
        if self.origin and served_url.startswith(prefix):
            return self.base_url + served_url[len(prefix) :]
        return served_url

    def html_files(self) -> list[Path]:
        return sorted(p for p in self.root.rglob("*.html") if p.is_file())

    def page_path(self, file: Path) -> str:
        """The URL path a generated HTML file is served at."""
        rel = file.relative_to(self.root).as_posix()
        if rel == "index.html":
            rel = ""
        elif rel.endswith("/index.html"):
            rel = rel[: -len("index.html")]
        # As a browser sends it: an old address with umlauts (``aliases:``) %-escaped.
        return self.base_path + quote(rel, safe="/~+")

    def file_for_path(self, url_path: str) -> Path | None:
        """The file in the tree that serves a URL path (None: not in the tree)."""
        path = unquote(url_path)
        if not path.startswith(self.base_path):
            return None
        rel = path[len(self.base_path) :]
        candidate = self.root / rel
        if rel == "" or rel.endswith("/"):
            candidate = candidate / "index.html"
        try:
            candidate.resolve().relative_to(self.root.resolve())
        except ValueError:
            return None
        return candidate if candidate.is_file() else None

    def pages(self) -> dict[str, Path]:
        """Every page of the site: URL path → file, without the 404 page and without
        the redirect pages at old addresses (`redirect_pages`)."""
        not_found = self.root / "404.html"
        return {
            self.page_path(f): f
            for f in self.html_files()
            if f != not_found and refresh_target(f.read_bytes()) is None
        }

    def redirect_pages(self) -> dict[str, str]:
        """The pages at old addresses: URL path → the URL they send to (as written)."""
        found = {}
        for file in self.html_files():
            target = refresh_target(file.read_bytes())
            if target is not None:
                found[self.page_path(file)] = target
        return found

    def published_pages(self) -> dict[str, Path]:
        """The pages meant for search engines: every page not marked noindex."""
        return {path: f for path, f in self.pages().items() if not is_noindex(f.read_bytes())}


def is_noindex(html: bytes) -> bool:
    """True when a page carries `<meta name="robots" content="...noindex...">`."""
    head = html[:20000]
    return bool(_NOINDEX.search(head) or _NOINDEX_REVERSED.search(head))


def normalise_page_url(url: str) -> str:
    """Drop the fragment and a trailing `index.html`: the URL a page is known by."""
    url = url.split("#", 1)[0]
    if url.endswith("/index.html"):
        url = url[: -len("index.html")]
    return url


def limited(items: list[Finding], limit: int) -> Iterator[str]:
    """Lines for at most `limit` findings, then how many were left out."""
    for finding in items[:limit]:
        yield str(finding)
    if len(items) > limit:
        yield f"... and {len(items) - limit} more (see the report file)"
