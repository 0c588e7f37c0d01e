"""Links gate: crawl each served site from its home page, like a visitor would.

Input: served sites. Output: a `GateResult` with a finding for

* every internal reference (link, image, stylesheet, script, srcset, media,
  iframe, form action, og:image, canonical, CSS `url()`/`@import`) that does
  not answer 200 after redirects ("broken-*"),
* every `#fragment` on an internal page that names no element there,
* every internal address written out in a linked text file or e-mail (a
  release's pressemitteilung.txt and .eml) that does not answer 200,
* every page of the tree that no chain of `<a href>` links from `/` reaches
  ("orphan"; the 404 page is exempt; the contract says "reachable by links",
  so a page only a form leads to, such as a search page, counts as orphan),
* an unknown URL not answered by the site's 404 page with status 404, and
  links on that 404 page that break when it is shown at a deep URL,
* every old address (a redirect page the build wrote for `aliases:`) that the
  server does not answer with a 301 to the page the redirect page names, or
  whose new page does not answer 200 ("redirect"): the server rules the build
  writes (`_server/`) must be loaded, and the server files must not be served.

Internal means: under the site's base URL (as built, e.g. the production
host) or on the serving origin. External links are counted, never fetched.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import re
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

import lxml.html

from gates.core import Finding, GateResult, Site, normalise_page_url

GATE = "links"
REQUEST_TIMEOUT = 10.0
MAX_REQUESTS = 20000
MAX_SECONDS = 600.0
MAX_REDIRECTS = 5
SKIPPED_SCHEMES = ("mailto:", "tel:", "javascript:", "data:", "sms:", "geo:", "about:", "blob:")
UNKNOWN_PATH = "gates-gibt-es-nicht-4f1c/"
DEEP_UNKNOWN_PATH = "gates/gibt/es/nicht/"

# (tag, attribute, kind); kind "a" is a navigation link, the others resources.
_REFERENCES: tuple[tuple[str, str, str], ...] = (
    ("a", "href", "link"),
    ("area", "href", "link"),
    ("link", "href", "link-element"),
    ("script", "src", "script"),
    ("img", "src", "image"),
    ("img", "srcset", "image"),
    ("source", "src", "media"),
    ("source", "srcset", "image"),
    ("video", "src", "media"),
    ("video", "poster", "image"),
    ("audio", "src", "media"),
    ("track", "src", "media"),
    ("iframe", "src", "iframe"),
    ("embed", "src", "media"),
    ("object", "data", "media"),
    ("input", "src", "image"),
)
_META_URLS = ("og:image", "og:url", "og:image:url", "twitter:image", "og:audio", "og:video")
_LINK_RELS_WITHOUT_TARGET = {"preconnect", "dns-prefetch"}
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)""")
_CSS_IMPORT = re.compile(r"""@import\s+(?:"([^"]*)"|'([^']*)')""")


@dataclass(slots=True)
class Response:
    status: int
    final_url: str
    content_type: str
    body: bytes
    error: str = ""
    redirected: bool = False
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def is_html(self) -> bool:
        return self.content_type.startswith("text/html")


# An address written out in plain text ("Text (https://…)") or in an e-mail's HTML.
_WRITTEN_URL = re.compile(r"https?://[^\s\"'<>()]+")


@dataclass(slots=True)
class Reference:
    kind: str
    tag: str
    attribute: str
    value: str
    url: str


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


@dataclass(slots=True)
class Fetcher:
    """GETs internal URLs once each, following at most MAX_REDIRECTS redirects."""

    requests: int = 0
    deadline: float = field(default_factory=lambda: time.monotonic() + MAX_SECONDS)
    cache: dict[str, Response] = field(default_factory=dict)
    _opener: urllib.request.OpenerDirector = field(
        # No proxy, whatever the environment says: the server is on loopback.
        default_factory=lambda: urllib.request.build_opener(
            urllib.request.ProxyHandler({}), _NoRedirect
        )
    )

    def get(self, url: str) -> Response:
        url = urldefrag(url)[0]
        if url in self.cache:
            return self.cache[url]
        current, redirected = url, False
        for _ in range(MAX_REDIRECTS + 1):
            response = self._get_once(current)
            location = response.final_url
            if response.status in (301, 302, 303, 307, 308) and location:
                current, redirected = urljoin(current, location), True
                continue
            response.final_url = current
            response.redirected = redirected
            break
        else:
            response = Response(0, current, "", b"", error="too many redirects")
        self.cache[url] = response
        return response

    def get_once(self, url: str) -> Response:
        """One GET, redirects not followed: a 3xx has its ``Location`` in ``final_url``."""
        return self._get_once(urldefrag(url)[0])

    def _get_once(self, url: str) -> Response:
        if self.requests >= MAX_REQUESTS or time.monotonic() > self.deadline:
            return Response(0, url, "", b"", error="crawl limit reached")
        self.requests += 1
        request = urllib.request.Request(url, headers={"User-Agent": "kldigital-gates"})
        try:
            with self._opener.open(request, timeout=REQUEST_TIMEOUT) as reply:
                return Response(
                    reply.status,
                    url,
                    reply.headers.get("Content-Type", ""),
                    reply.read(),
                    headers=dict(reply.headers),
                )
        except urllib.error.HTTPError as exc:
            body = exc.read() if exc.fp else b""
            location = exc.headers.get("Location", "") if exc.headers else ""
            content_type = exc.headers.get("Content-Type", "") if exc.headers else ""
            return Response(exc.code, location, content_type, body)
        except (urllib.error.URLError, OSError) as exc:
            return Response(0, url, "", b"", error=str(exc))


def _srcset_urls(value: str) -> list[str]:
    urls = []
    for candidate in value.split(","):
        parts = candidate.strip().split()
        if parts:
            urls.append(parts[0])
    return urls


def parse_html(body: bytes) -> lxml.html.HtmlElement | None:
    try:
        return lxml.html.document_fromstring(body)
    except (lxml.etree.ParserError, ValueError):
        return None


def element_ids(doc: lxml.html.HtmlElement) -> set[str]:
    ids = {str(v) for v in doc.xpath("//@id")}
    ids.update(str(v) for v in doc.xpath("//a/@name"))
    return ids


def extract_references(doc: lxml.html.HtmlElement, page_url: str) -> list[Reference]:
    """Every URL the page refers to, resolved against the page (and `<base>`)."""
    base = page_url
    for href in doc.xpath("//base/@href")[:1]:
        base = urljoin(page_url, str(href).strip())
    refs: list[Reference] = []

    def add(kind: str, tag: str, attribute: str, value: str) -> None:
        value = value.strip()
        if not value or value.lower().startswith(SKIPPED_SCHEMES):
            return
        refs.append(Reference(kind, tag, attribute, value, urljoin(base, value)))

    for tag, attribute, kind in _REFERENCES:
        for element in doc.iter(tag):
            value = element.get(attribute)
            if value is None:
                continue
            if tag == "link":
                rels = set((element.get("rel") or "").lower().split())
                if rels & _LINK_RELS_WITHOUT_TARGET:
                    continue
                kind = "stylesheet" if "stylesheet" in rels else "link-element"
            if attribute == "srcset":
                for url in _srcset_urls(value):
                    add(kind, tag, attribute, url)
            else:
                add(kind, tag, attribute, value)
    for form in doc.iter("form"):
        if (form.get("method") or "get").lower() == "get" and form.get("action"):
            add("form", "form", "action", form.get("action") or "")
    for meta in doc.iter("meta"):
        if (meta.get("property") or meta.get("name") or "").lower() in _META_URLS:
            add(
                "meta",
                "meta",
                meta.get("property") or meta.get("name") or "",
                meta.get("content") or "",
            )
    return refs


def css_references(css: bytes, css_url: str) -> list[Reference]:
    text = css.decode("utf-8", errors="replace")
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL)
    refs = []
    for pattern in (_CSS_URL, _CSS_IMPORT):
        for match in pattern.finditer(text):
            value = next((g for g in match.groups() if g), "").strip()
            if (
                value
                and not value.lower().startswith(SKIPPED_SCHEMES)
                and not value.startswith("#")
            ):
                refs.append(Reference("css", "css", "url", value, urljoin(css_url, value)))
    return refs


@dataclass(slots=True)
class _Crawl:
    site: Site
    fetcher: Fetcher
    findings: list[Finding] = field(default_factory=list)
    reached: set[str] = field(default_factory=set)
    ids: dict[str, set[str] | None] = field(default_factory=dict)
    checked_css: set[str] = field(default_factory=set)
    reported: set[tuple[str, str]] = field(default_factory=set)
    internal_refs: int = 0
    external: set[str] = field(default_factory=set)
    redirects: set[str] = field(default_factory=set)

    def where(self, url: str) -> str:
        prefix = self.site.origin
        return url[len(prefix) :] if url.startswith(prefix) else url

    def in_site(self, url: str) -> bool:
        return url.startswith(self.site.origin + self.site.base_path)

    def report(self, page: str, rule: str, message: str) -> None:
        if (page, rule + message) in self.reported:
            return
        self.reported.add((page, rule + message))
        self.findings.append(Finding(self.site.name, page, rule, message))

    def page_ids(self, url: str) -> set[str] | None:
        url = urldefrag(url)[0]
        if url not in self.ids:
            response = self.fetcher.get(url)
            doc = parse_html(response.body) if response.ok and response.is_html else None
            self.ids[url] = element_ids(doc) if doc is not None else None
        return self.ids[url]

    def check(
        self, page: str, ref: Reference, *, page_url: str = "", page_ids: set[str] | None = None
    ) -> Response | None:
        """Fetch an internal reference and report it when broken.

        A reference to the page itself (`#fragment`) is checked against the
        page's own ids: the page may be the 404 page, shown at any URL.
        """
        served = self.site.to_served(ref.url)
        if served is None:
            self.external.add(ref.url)
            return None
        self.internal_refs += 1
        target, fragment = urldefrag(served)
        if page_url and page_ids is not None and target == urldefrag(page_url)[0]:
            fragment = unquote(fragment)
            if fragment and fragment.lower() != "top" and fragment not in page_ids:
                self.report(page, "broken-fragment", f"<{ref.tag} {ref.attribute}={ref.value!r}>: "
                            f"no id {fragment!r} on this page")  # fmt: skip
            return None
        response = self.fetcher.get(served)
        label = (
            f"<{ref.tag} {ref.attribute}={ref.value!r}>"
            if ref.tag != "css"
            else f"url({ref.value})"
        )
        if not response.ok:
            reason = response.error or f"HTTP {response.status}"
            self.report(page, f"broken-{ref.kind}", f"{label} -> {self.where(served)}: {reason}")
            return None
        if response.redirected:
            self.redirects.add(f"{page}: {label} redirects to {self.where(response.final_url)}")
        if not self.in_site(response.final_url):
            self.report(
                page, f"broken-{ref.kind}",
                f"{label} leaves the site's base path {self.site.base_path}",
            )  # fmt: skip
            return None
        fragment = unquote(urldefrag(served)[1])
        if fragment and fragment.lower() != "top" and response.is_html:
            ids = self.page_ids(response.final_url)
            if ids is not None and fragment not in ids:
                self.report(page, "broken-fragment", f"{label}: no id {fragment!r} on that page")
        if ref.kind == "stylesheet" or response.content_type.startswith("text/css"):
            self.check_css(response)
        if response.content_type.startswith(("text/plain", "message/rfc822")):
            self.check_written_out(response)
        return response

    def check_written_out(self, response: Response) -> None:
        """The addresses written out in a release's text version and e-mail work too."""
        if response.final_url in self.checked_css:
            return
        self.checked_css.add(response.final_url)
        if response.content_type.startswith("message/rfc822"):
            message = email.message_from_bytes(response.body, policy=email.policy.default)
            assert isinstance(message, email.message.EmailMessage)
            parts = [p for p in message.walk() if p.get_content_maintype() == "text"]
            text = "\n".join(str(p.get_content()) for p in parts)
        else:
            text = response.body.decode("utf-8", errors="replace")
        for match in _WRITTEN_URL.finditer(text):
            url = match[0].rstrip(".,;:")
            self.check(self.where(response.final_url), Reference("link", "text", "url", url, url))

    def check_css(self, response: Response) -> None:
        if response.final_url in self.checked_css:
            return
        self.checked_css.add(response.final_url)
        for ref in css_references(response.body, response.final_url):
            self.check(self.where(response.final_url), ref)

    def crawl(self) -> None:
        entry = self.site.entry_url
        queue: deque[str] = deque([entry])
        queued = {entry}
        while queue:
            url = queue.popleft()
            response = self.fetcher.get(url)
            page = self.where(url)
            if not response.ok:
                reason = response.error or f"HTTP {response.status}"
                self.report(page, "broken-link", f"the page itself does not load: {reason}")
                continue
            if not response.is_html or not self.in_site(response.final_url):
                continue
            page_url = normalise_page_url(response.final_url)
            self.reached.add(urlsplit(page_url).path)
            doc = parse_html(response.body)
            if doc is None:
                self.report(page, "unparsable", "lxml cannot parse the page")
                continue
            ids = element_ids(doc)
            self.ids[urldefrag(response.final_url)[0]] = ids
            for ref in extract_references(doc, response.final_url):
                target = self.check(page, ref, page_url=response.final_url, page_ids=ids)
                # Reachable means reachable by <a> links (the contract), not only by a form.
                if target is None or ref.kind != "link" or not target.is_html:
                    continue
                next_url = normalise_page_url(target.final_url)
                if self.in_site(next_url) and next_url not in queued:
                    queued.add(next_url)
                    queue.append(next_url)

    def check_orphans(self) -> None:
        pages = self.site.pages()
        for path in sorted(pages):
            if path not in self.reached:
                file = pages[path].relative_to(self.site.root).as_posix()
                self.report(
                    path, "orphan", f"{file} is not reachable by links from {self.site.base_path}"
                )

    def check_delivery(self) -> None:
        """What docs/deployment.md promises of the server: theme files (hashed names) kept
        for a year, and a page's precompressed .gz sent as it is to a browser taking gzip."""
        root = self.site.root
        stylesheets = sorted(root.glob("assets/css/*.css"))
        if stylesheets:
            url = self.site.entry_url + stylesheets[0].relative_to(root).as_posix()
            cache = _raw_get(url, {})[0].get("Cache-Control", "")
            if "immutable" not in cache or "max-age=31536000" not in cache:
                message = f"Cache-Control {cache!r}: hashed theme files are immutable"
                self.report(self.where(url), "asset-cache", message)
        zipped = root / "index.html.gz"
        if not zipped.is_file():
            self.report(self.site.base_path, "precompressed", "the build wrote no index.html.gz")
            return
        headers, body = _raw_get(self.site.entry_url, {"Accept-Encoding": "gzip"})
        if headers.get("Content-Encoding") != "gzip" or body != zipped.read_bytes():
            self.report(self.site.base_path, "precompressed",
                        "Accept-Encoding: gzip is not answered with index.html.gz as it is "
                        f"(Content-Encoding {headers.get('Content-Encoding')!r})")  # fmt: skip

    def check_not_found(self) -> bool:
        """The 404 page answers unknown URLs, and its links work at any depth."""
        ok = True
        page_file = self.site.root / "404.html"
        if not page_file.is_file():
            self.report("404.html", "not-found-page", "the tree has no 404.html")
            return False
        expected = page_file.read_bytes()
        for path in (UNKNOWN_PATH, DEEP_UNKNOWN_PATH):
            url = self.site.entry_url + path
            response = self.fetcher.get(url)
            page = self.where(url)
            if response.status != 404:
                self.report(
                    page, "not-found-page", f"unknown URL answered HTTP {response.status}, not 404"
                )
                ok = False
                continue
            if response.body != expected:
                self.report(page, "not-found-page", "unknown URL is not answered with 404.html")
                ok = False
                continue
            doc = parse_html(response.body)
            if doc is None:
                continue
            before = len(self.findings)
            ids = element_ids(doc)
            for ref in extract_references(doc, url):
                self.check(f"404 page at {page}", ref, page_url=url, page_ids=ids)
            ok = ok and len(self.findings) == before
        return ok

    def check_redirects(self) -> int:
        """Old addresses answer 301 to their new page (the generated server rules), the
        new page answers 200, and the rules themselves are not served. Returns how many
        redirects were followed."""
        followed = 0
        for path, written in sorted(self.site.redirect_pages().items()):
            page = self.site.origin + path
            target = urljoin(page, written)
            variants = [page]
            if path.endswith("/") and path != self.site.base_path:
                variants.append(page.rstrip("/"))  # the folder without its final slash
            for url in variants:
                first = self.fetcher.get_once(url)
                moved = 300 <= first.status < 400 and first.final_url
                location = urljoin(url, first.final_url) if moved else ""
                if first.status != 301 or location != target:
                    self.report(
                        self.where(url),
                        "redirect",
                        f"expected 301 to {self.where(target)}, got HTTP {first.status}"
                        + (f" to {self.where(location)}" if location else ""),
                    )
                    continue
                followed += 1
            final = self.fetcher.get(target)
            if not final.ok or final.redirected:
                reason = final.error or f"HTTP {final.status}"
                self.report(self.where(page), "redirect", f"new page {written} answers {reason}")
        for name in ("redirects.nginx.conf", "redirects.apache.conf"):
            url = f"{self.site.entry_url}_server/{name}"
            if self.fetcher.get_once(url).status != 404:
                self.report(self.where(url), "redirect", "server rules are served (expected 404)")
        return followed


def _raw_get(url: str, headers: Mapping[str, str]) -> tuple[dict[str, str], bytes]:
    """Headers and body exactly as the server sent them (urllib decodes no encoding)."""
    request = urllib.request.Request(url, headers={"User-Agent": "kldigital-gates", **headers})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=REQUEST_TIMEOUT) as reply:
            return dict(reply.headers.items()), reply.read()
    except (urllib.error.URLError, OSError) as exc:
        return {"X-Gates-Error": str(exc)}, b""


def check_links(sites: Sequence[Site]) -> GateResult:
    """Crawl every served site; zero broken references and zero orphans pass."""
    fetcher = Fetcher()
    findings: list[Finding] = []
    notes: list[str] = []
    pages = internal = redirects = 0
    external: set[str] = set()
    not_found_ok = True
    for site in sites:
        crawl = _Crawl(site, fetcher)
        crawl.crawl()
        crawl.check_orphans()
        not_found_ok = crawl.check_not_found() and not_found_ok
        redirects += crawl.check_redirects()
        crawl.check_delivery()
        findings.extend(crawl.findings)
        pages += len(crawl.reached)
        internal += crawl.internal_refs
        external |= crawl.external
        notes.extend(f"[{site.name}] {line}" for line in sorted(crawl.redirects))
    broken = sum(1 for f in findings if f.rule.startswith("broken-") or f.rule == "unparsable")
    orphans = sum(1 for f in findings if f.rule == "orphan")
    failed_redirects = sum(1 for f in findings if f.rule == "redirect")
    summary = (
        f"{broken} broken, {orphans} orphans, {failed_redirects} old addresses not redirected "
        f"({redirects} redirects followed); 404 page {'ok' if not_found_ok else 'FAILS'} "
        f"({pages} pages crawled, {internal} internal references checked, "
        f"{len(external)} external URLs not fetched, {len(sites)} builds)"
    )
    if notes:
        summary += f"; {len(notes)} redirects (listed in the report)"
    return GateResult(GATE, summary, findings, notes=notes)
