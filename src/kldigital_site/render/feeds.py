"""Machine-readable files: the Atom feeds of press releases, sitemap.xml, robots.txt.

Input: ``Site`` and its ``Views``. Output: the bytes of each file. No build time
appears anywhere: a feed's ``updated`` is its newest release's date, so the
same content always gives the same bytes. The main feed is made on every build;
the feeds of a topic or a project go through ``feed_view`` and are re-made only
when it changes (render/newsroom.py).
"""

from __future__ import annotations

import datetime as dt
import html
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kldigital_site.content.discover import SourceKind
from kldigital_site.model import FEED_FILE, RouteKind

if TYPE_CHECKING:
    from kldigital_site.model import Site
    from kldigital_site.render.views import Views

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def _escape(text: str) -> str:
    """&, < and > as entities, as xml.sax.saxutils.escape does: that module imports
    urllib.request (http.client, email), ~9 ms of every build's start (issue 15)."""
    return html.escape(text, quote=False)


def render_generated_file(kind: RouteKind, site: Site, views: Views) -> bytes:
    """The bytes of a route whose ``kind.is_generated_file``."""
    if kind is RouteKind.FEED:
        return atom_feed(site, views)
    if kind is RouteKind.SITEMAP:
        return sitemap(site, views)
    return robots(site)


def _element(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = text
    return element


def atom_feed(site: Site, views: Views) -> bytes:
    config = site.config
    entries = site.releases[: config.feed_entries]
    title = f"Pressemitteilungen – {config.title}"
    return atom_from_view(feed_view(views, entries, f"{config.sections.press}/", title))


def feed_view(views: Views, keys: Sequence[str], page_url: str, title: str) -> dict[str, Any]:
    """What an Atom feed of press releases shows: ``keys`` newest first, the feed at
    ``page_url`` + feed.xml, announced on the page at ``page_url``. The main feed, and
    those of a topic or a project (render/contexts.py), which are re-made only when
    this view changes."""
    site, config = views.site, views.site.config
    entries = []
    dates = []
    for key in keys:
        item = site.items[key]
        assert item.date is not None
        dates.append(item.date)
        entries.append(
            {
                "id": views.absolute(item.url),
                "title": item.title,
                "published": item.date,
                "summary": views.summary(item),
                "content": views.body_html(key),
                "categories": [tag["name"] for tag in views.tag_links(item)],
            }
        )
    return {
        "id": views.absolute(page_url),
        "title": title,
        "language": config.language,
        "base_url": config.base_url,
        "updated": max(dates, default=_EPOCH),
        "self_url": views.absolute(page_url + FEED_FILE),
        "page_url": views.absolute(page_url),
        "author": config.organisation_name,
        "entries": entries,
    }


def atom_from_view(view: Mapping[str, Any]) -> bytes:
    feed = ET.Element("feed", {"xmlns": ATOM, "xml:lang": view["language"]})
    _element(feed, "id", view["id"])
    _element(feed, "title", view["title"])
    _element(feed, "updated", view["updated"].isoformat())
    _element(feed, "link", rel="self", type="application/atom+xml", href=view["self_url"])
    _element(feed, "link", rel="alternate", type="text/html", href=view["page_url"])
    author = _element(feed, "author")
    _element(author, "name", view["author"])
    for data in view["entries"]:
        entry = _element(feed, "entry")
        _element(entry, "id", data["id"])
        _element(entry, "title", data["title"])
        _element(entry, "link", rel="alternate", type="text/html", href=data["id"])
        _element(entry, "published", data["published"].isoformat())
        _element(entry, "updated", data["published"].isoformat())
        _element(entry, "summary", data["summary"])
        # Relative links in the body resolve against the site root (RFC 4287 xml:base).
        _element(
            entry, "content", str(data["content"]), type="html", **{"xml:base": view["base_url"]}
        )
        for name in data["categories"]:
            _element(entry, "category", term=name)
    return _serialise(feed)


def sitemap(site: Site, views: Views) -> bytes:
    # Written as text, in exactly ElementTree's indented form: this file lists every
    # page and is made on every build, and building 10,000 elements first cost more
    # than everything else an edit build does for it.
    lines = ["<?xml version='1.0' encoding='utf-8'?>", f'<urlset xmlns="{SITEMAP}">']
    for route in site.routes:
        if not route.kind.is_page or route.kind is RouteKind.NOT_FOUND:
            continue
        item = site.items[route.item] if route.item is not None else None
        # Drafts and embargoed items only appear in preview builds, marked noindex.
        if item is not None and (item.is_draft or item.is_future):
            continue
        lines += ["  <url>", f"    <loc>{_escape(views.absolute(route.url))}</loc>"]
        if item is not None and item.kind is SourceKind.PRESS and item.date is not None:
            lines.append(f"    <lastmod>{item.date.date().isoformat()}</lastmod>")
        lines.append("  </url>")
    lines.append("</urlset>")
    return ("\n".join(lines) + "\n").encode("utf-8")


def robots(site: Site) -> bytes:
    if site.config.preview:
        # A preview on a staging server must stay out of every search engine.
        return b"User-agent: *\nDisallow: /\n"
    return (f"User-agent: *\nAllow: /\nSitemap: {site.config.base_url}sitemap.xml\n").encode()


def _serialise(root: ET.Element) -> bytes:
    ET.indent(root)
    data: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return data + b"\n"
