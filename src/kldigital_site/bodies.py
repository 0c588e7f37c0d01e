"""Markdown bodies of every published item, with links checked against the model.

Input: ``Site`` and a ``MarkdownRenderer``. Output: ``Bodies`` (rendered HTML per
item key and per boilerplate id) and the problems found: links that point at
nothing are errors at the line of the link, sanitiser removals are warnings.
A link may name another content file by relative path
(``../projekte/dritte-orte.md``) or a site URL (``/projekte/dritte-orte/``);
both become paths under the base path, so they work on any sub-path.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kldigital_site.errors import SiteError
from kldigital_site.markup import MarkdownRenderer, RenderedMarkdown
from kldigital_site.model import Site

BodyRenderer = Callable[[str, str, int, Callable[[str], str | None]], RenderedMarkdown]


@dataclass(frozen=True, slots=True)
class Bodies:
    items: Mapping[str, RenderedMarkdown]
    boilerplates: Mapping[str, RenderedMarkdown]
    problems: tuple[SiteError, ...]


def link_resolver(site: Site, content_path: str) -> Callable[[str], str | None]:
    """Resolve link targets written in the file at ``content_path`` (relative to content/)."""
    base = site.config.base_path

    def resolve(target: str) -> str | None:
        path, _, query = target.partition("?")
        suffix = f"?{query}" if query else ""
        if path.startswith("/"):
            url = _known_url(site, path.lstrip("/"))
        else:
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(content_path), path))
            if joined.startswith("../") or joined == "..":
                return None
            url = site.url_of_content.get(joined)
            if url is None:
                url = _known_url(site, joined)
        return None if url is None else base + url + suffix

    return resolve


def _known_url(site: Site, url: str) -> str | None:
    if url in ("", "index.html"):
        return ""
    if site.url_exists(url):
        return url
    if url.endswith("/index.html") and site.url_exists(url.removesuffix("index.html")):
        return url.removesuffix("index.html")
    if not url.endswith("/") and site.url_exists(url + "/"):
        return url + "/"
    return None


def render_bodies(site: Site, renderer: MarkdownRenderer) -> Bodies:
    problems: list[SiteError] = []
    items: dict[str, RenderedMarkdown] = {}
    for key, item in site.items.items():
        rendered = renderer.render(
            item.doc.body,
            path=item.doc.rel_path,
            first_line=item.doc.body_line,
            resolve_link=link_resolver(site, key),
        )
        items[key] = rendered
        problems.extend(rendered.problems)
    boilerplates: dict[str, RenderedMarkdown] = {}
    boilerplate_file = "daten/presseabbinder.yaml"
    for ident, text in site.boilerplates.items():
        rendered = renderer.render(
            text,
            path=f"{site.config.rel(site.config.content_dir)}/{boilerplate_file}",
            first_line=1,
            resolve_link=link_resolver(site, boilerplate_file),
        )
        boilerplates[ident] = rendered
        problems.extend(rendered.problems)
    return Bodies(items, boilerplates, tuple(problems))
