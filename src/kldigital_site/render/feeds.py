"""Machine-readable files: the Atom feed of press releases, sitemap.xml, robots.txt.

Input: ``Site`` and its ``Views``. Output: the bytes of each file. No build time
appears anywhere: the feed's ``updated`` is the newest release's date, so the
same content always gives the same bytes.
"""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from kldigital_site.content.discover import SourceKind
from kldigital_site.model import RouteKind

if TYPE_CHECKING:
    from kldigital_site.model import Site
    from kldigital_site.render.views import Views

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


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
    press = config.sections.press
    entries = site.releases[: config.feed_entries]
    updated = max((site.items[k].date or _EPOCH for k in entries), default=_EPOCH)
    feed = ET.Element("feed", {"xmlns": ATOM, "xml:lang": config.language})
    _element(feed, "id", views.absolute(f"{press}/"))
    _element(feed, "title", f"Pressemitteilungen – {config.title}")
    _element(feed, "updated", updated.isoformat())
    _element(
        feed,
        "link",
        rel="self",
        type="application/atom+xml",
        href=views.absolute(f"{press}/feed.xml"),
    )
    _element(feed, "link", rel="alternate", type="text/html", href=views.absolute(f"{press}/"))
    author = _element(feed, "author")
    _element(author, "name", config.organisation_name)
    for key in entries:
        item = site.items[key]
        assert item.date is not None
        card = views.card(key)
        entry = _element(feed, "entry")
        _element(entry, "id", views.absolute(item.url))
        _element(entry, "title", item.title)
        _element(entry, "link", rel="alternate", type="text/html", href=views.absolute(item.url))
        _element(entry, "published", item.date.isoformat())
        _element(entry, "updated", item.date.isoformat())
        _element(entry, "summary", card["summary"])
        # Relative links in the body resolve against the site root (RFC 4287 xml:base).
        _element(
            entry,
            "content",
            views.bodies.store.html(views.bodies.items[key].key),
            type="html",
            **{"xml:base": config.base_url},
        )
        for tag in card["tags"]:
            _element(entry, "category", term=tag["name"])
    return _serialise(feed)


def sitemap(site: Site, views: Views) -> bytes:
    # Written as text, in exactly ElementTree's indented form: this file lists every
    # page and is made on every build, and building 10,000 elements first cost more
    # than everything else an edit build does for it.
    lines = ["<?xml version='1.0' encoding='utf-8'?>", f'<urlset xmlns="{SITEMAP}">']
    for route in site.routes:
        if route.kind.is_generated_file or route.kind is RouteKind.NOT_FOUND:
            continue
        item = site.items[route.item] if route.item is not None else None
        # Drafts and embargoed items only appear in preview builds, marked noindex.
        if item is not None and (item.is_draft or item.is_future):
            continue
        lines += ["  <url>", f"    <loc>{escape(views.absolute(route.url))}</loc>"]
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
