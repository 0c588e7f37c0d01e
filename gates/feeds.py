"""Feed and sitemap gates: what machines read.

Input: served sites. Output: two `GateResult`s.

`feed`: the Atom feed (the one the home page advertises with
`<link rel="alternate" type="application/atom+xml">`, else `/presse/feed.xml`)
and every other `feed.xml` of the tree (topics, projects) is served as
application/atom+xml, parses with feedparser without the bozo flag, is Atom 1.0, has
feed-level id, title and updated, and every entry has id, title, link and
updated; all links are absolute and the entry links lead to pages of the
site; entry ids are unique.

`sitemap`: `/sitemap.xml` validates against the sitemaps.org 0.9 schema
(`sitemap.xsd`, shipped here), its URLs are absolute, under the base URL,
unique, and exactly the published pages of the tree (every page but the 404
page and pages marked noindex); `robots.txt` names the sitemap's absolute URL
and blocks none of the listed URLs.
"""

from __future__ import annotations

import urllib.robotparser
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
from lxml import etree

from gates.core import Finding, GateResult, Site, normalise_page_url
from gates.links import Fetcher, parse_html

SITEMAP_XSD = Path(__file__).resolve().parent / "sitemap.xsd"
SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
DEFAULT_FEED = "presse/feed.xml"

_Add = Callable[[str, str, str], None]


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def feed_url_of(site: Site, fetcher: Fetcher) -> tuple[str, bool]:
    """The served URL of the site's feed, and whether the home page advertises it."""
    home = fetcher.get(site.entry_url)
    doc = parse_html(home.body) if home.ok else None
    if doc is not None:
        for link in doc.iter("link"):
            rels = (link.get("rel") or "").lower().split()
            if "alternate" in rels and (link.get("type") or "") == "application/atom+xml":
                href = urljoin(home.final_url, (link.get("href") or "").strip())
                served = site.to_served(href)
                if served is not None:
                    return served, True
    return site.entry_url + DEFAULT_FEED, False


def _check_feed(site: Site, fetcher: Fetcher, findings: list[Finding]) -> tuple[int, int]:
    """(feeds, entries) checked: the advertised feed, then every other feed.xml of the
    tree (those of topics and projects, announced on their own pages)."""

    def add(where: str, rule: str, message: str) -> None:
        findings.append(Finding(site.name, where, rule, message))

    url, advertised = feed_url_of(site, fetcher)
    if not advertised:
        add(site.base_path, "feed-autodiscovery",
            'the home page has no <link rel="alternate" type="application/atom+xml">')  # fmt: skip
    urls = [url] + [
        served
        for file in sorted(site.root.rglob("feed.xml"))
        if (served := site.entry_url + file.relative_to(site.root).as_posix()) != url
    ]
    return len(urls), sum(_check_one_feed(site, fetcher, feed, add) for feed in urls)


def _check_one_feed(site: Site, fetcher: Fetcher, url: str, add: _Add) -> int:
    where = urlsplit(url).path
    response = fetcher.get(url)
    if not response.ok:
        add(where, "feed-missing", f"HTTP {response.status} {response.error}".strip())
        return 0
    if not response.content_type.startswith("application/atom+xml"):
        add(where, "feed-type", f"served as {response.content_type!r}, not application/atom+xml")
    parsed = feedparser.parse(response.body)
    if parsed.get("bozo"):
        add(where, "feed-bozo", f"feedparser: {parsed.get('bozo_exception')}")
    if parsed.get("version") != "atom10":
        add(where, "feed-format", f"not Atom 1.0 (feedparser says {parsed.get('version')!r})")
    feed = parsed.get("feed", {})
    for key in ("id", "title", "updated"):
        if not feed.get(key):
            add(where, "feed-field", f"the feed has no {key}")
    for link in feed.get("links", []):
        href = link.get("href", "")
        if not _absolute(href):
            add(where, "feed-link", f"feed link {href!r} is not absolute")
    seen: set[str] = set()
    entries = parsed.get("entries", [])
    for number, entry in enumerate(entries, start=1):
        label = f"{where} entry {number} ({entry.get('title', '')[:50]!r})"
        for key in ("id", "title", "link", "updated"):
            if not entry.get(key):
                add(label, "feed-entry-field", f"the entry has no {key}")
        entry_id = entry.get("id", "")
        if entry_id and entry_id in seen:
            add(label, "feed-entry-id", f"duplicate id {entry_id!r}")
        seen.add(entry_id)
        for link in entry.get("links", []):
            href = link.get("href", "")
            if not _absolute(href):
                add(label, "feed-link", f"link {href!r} is not absolute")
                continue
            served = site.to_served(href)
            if served is None:
                add(label, "feed-link", f"link {href!r} is not under the base URL {site.base_url}")
                continue
            target = fetcher.get(served)
            if not target.ok:
                add(label, "feed-link", f"link {href!r} is broken: HTTP {target.status}")
    return len(entries)


def check_feed(sites: Sequence[Site]) -> GateResult:
    fetcher = Fetcher()
    findings: list[Finding] = []
    counts = [_check_feed(site, fetcher, findings) for site in sites]
    feeds, entries = sum(c[0] for c in counts), sum(c[1] for c in counts)
    summary = f"{len(findings)} problems ({feeds} Atom feeds, {entries} entries)"
    return GateResult("feed", summary, findings)


def _load_schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SITEMAP_XSD)))


def _check_sitemap(
    site: Site, fetcher: Fetcher, schema: etree.XMLSchema, findings: list[Finding]
) -> int:
    def add(where: str, rule: str, message: str) -> None:
        findings.append(Finding(site.name, where, rule, message))

    sitemap_url = site.base_url + "sitemap.xml"
    where = site.base_path + "sitemap.xml"
    response = fetcher.get(site.entry_url + "sitemap.xml")
    if not response.ok:
        add(where, "sitemap-missing", f"HTTP {response.status} {response.error}".strip())
        return 0
    try:
        tree = etree.fromstring(response.body, parser=etree.XMLParser(resolve_entities=False))
    except etree.XMLSyntaxError as exc:
        add(where, "sitemap-xml", f"not well-formed XML: {exc}")
        return 0
    if not schema.validate(tree):
        for error in list(schema.error_log)[:20]:
            add(f"{where}:{error.line}", "sitemap-schema", error.message)
    locs = [(loc.text or "").strip() for loc in tree.iter(f"{{{SITEMAP_NS}}}loc")]
    listed: dict[str, str] = {}
    for loc in locs:
        if not _absolute(loc):
            add(where, "sitemap-url", f"{loc!r} is not absolute")
            continue
        if not loc.startswith(site.base_url):
            add(where, "sitemap-url", f"{loc!r} is not under the base URL {site.base_url}")
            continue
        path = urlsplit(normalise_page_url(site.to_served(loc) or loc)).path
        if path in listed:
            add(where, "sitemap-url", f"{loc!r} is listed twice")
        listed[path] = loc
    published = site.published_pages()
    for path in sorted(set(published) - set(listed)):
        file = published[path].relative_to(site.root).as_posix()
        add(where, "sitemap-missing-page", f"published page {path} ({file}) is not listed")
    pages = site.pages()
    for path in sorted(set(listed) - set(published)):
        why = "is marked noindex" if path in pages else "is no page of the tree"
        if path == site.base_path + "404.html":
            why = "is the 404 page"
        add(where, "sitemap-extra-url", f"{listed[path]} {why}")
    _check_robots(site, fetcher, sitemap_url, list(listed.values()), add)
    return len(listed)


def _check_robots(
    site: Site, fetcher: Fetcher, sitemap_url: str, locs: list[str], add: _Add
) -> None:
    where = site.base_path + "robots.txt"
    response = fetcher.get(site.entry_url + "robots.txt")
    if not response.ok:
        add(where, "robots", f"robots.txt is missing: HTTP {response.status}")
        return
    text = response.body.decode("utf-8", errors="replace")
    named = [
        line.split(":", 1)[1].strip()
        for line in text.splitlines()
        if line.strip().lower().startswith("sitemap:")
    ]
    if sitemap_url not in named:
        add(where, "robots", f"robots.txt does not name the sitemap: no 'Sitemap: {sitemap_url}'")
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(text.splitlines())
    blocked = [loc for loc in locs if not parser.can_fetch("*", loc)]
    if blocked:
        add(where, "robots", f"robots.txt blocks {len(blocked)} listed URLs, e.g. {blocked[0]}")


def check_sitemap(sites: Sequence[Site]) -> GateResult:
    fetcher = Fetcher()
    schema = _load_schema()
    findings: list[Finding] = []
    urls = sum(_check_sitemap(site, fetcher, schema, findings) for site in sites)
    summary = (
        f"{len(findings)} problems ({len(sites)} sitemaps valid against sitemaps.org 0.9 with "
        f"{urls} URLs = the published pages; robots.txt names them)"
        if not findings
        else f"{len(findings)} problems ({len(sites)} sitemaps, {urls} URLs)"
    )
    return GateResult("sitemap", summary, findings)
