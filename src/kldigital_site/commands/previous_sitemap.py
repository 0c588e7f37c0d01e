"""``check --previous-sitemap``: no address that was published before gets lost.

Input: the sitemap of the site as it is online (a file, or its http(s) URL)
and the model of the new build. Output: one ``SiteError`` per address of the
old sitemap that the new site neither publishes nor redirects (``aliases:``,
redirects.py). Journalists, the city's
portal and other sites link to releases for years; run against the live
sitemap before every deploy (docs/deployment.md), this catches a renamed
file or a changed ``slug:`` before the old links break.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree

from kldigital_site.errors import SiteError
from kldigital_site.model import Site

OPTION = "--previous-sitemap"
_NAMESPACE = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
# A sitemap holds at most 50,000 URLs of up to 2,048 characters (sitemaps.org).
_MAX_BYTES = 120 * 1024 * 1024


class SitemapProblem(Exception):
    """The old sitemap cannot be read; the message is German, for editors."""


def read_sitemap(source: str) -> list[str]:
    """Every ``<loc>`` of a sitemap, from a file or an http(s) URL."""
    if source.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(source, timeout=30) as response:
                data = response.read(_MAX_BYTES + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise SitemapProblem(f"„{source}“ ist nicht abrufbar ({exc}).") from exc
    else:
        try:
            data = Path(source).read_bytes()
        except OSError as exc:
            raise SitemapProblem(f"„{source}“ ist nicht lesbar ({exc.strerror}).") from exc
    if len(data) > _MAX_BYTES:
        raise SitemapProblem(f"„{source}“ ist größer, als eine Sitemap sein darf.")
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise SitemapProblem(f"„{source}“ ist keine gültige Sitemap (XML-Fehler: {exc}).") from exc
    if root.tag != f"{_NAMESPACE}urlset":
        raise SitemapProblem(f"„{source}“ ist keine Sitemap (erwartet: <urlset>).")
    return [
        loc.text.strip()
        for loc in root.iter(f"{_NAMESPACE}loc")
        if loc.text is not None and loc.text.strip()
    ]


def lost_urls(previous: list[str], site: Site) -> list[SiteError]:
    """The addresses of ``previous`` that the new site neither publishes nor redirects."""
    base_path = site.config.base_path
    lost: list[SiteError] = []
    for url in previous:
        path = unquote(urlsplit(url).path) or "/"
        rel = path[len(base_path) :] if path.startswith(base_path) else None
        if rel is not None and _published(site, rel):
            continue
        lost.append(
            SiteError(
                OPTION,
                0,
                f"„{url}“ war veröffentlicht und fehlt in der neuen Website. Wurde eine Datei "
                "umbenannt oder ein „slug“ geändert? Dann den alten Pfad unter „aliases:“ "
                f"der Seite eintragen ({_alias_example(rel)}), damit Links auf diese "
                "Adresse weiter funktionieren.",
            )
        )
    return lost


def _alias_example(rel: str | None) -> str:
    return f"aliases: [/{rel}]" if rel else "aliases: [/alter-pfad/]"


def _published(site: Site, rel: str) -> bool:
    """Published, or redirected: the routes include the redirect page of every alias,
    which the server rules send on with a 301 (for a folder also without its slash)."""
    published = site.file_urls | site.route_urls
    if rel in ("", "index.html") or rel in published:
        return True
    if not rel.endswith("/") and f"{rel}/" in site.redirect_urls:
        return True
    if rel.endswith("/index.html") and rel.removesuffix("index.html") in published:
        return True
    # Files the build writes that are no routes (sitemap.xml, feeds, 404.html, …).
    return rel in _machine_files(site)


def _machine_files(site: Site) -> frozenset[str]:
    press = site.config.sections.press
    return frozenset({"sitemap.xml", "robots.txt", "404.html", f"{press}/feed.xml"})
