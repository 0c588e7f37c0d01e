"""Redirect pages and server rules for old addresses (``aliases:``, redirects.py).

Input: ``Site`` and one of its routes of kind ``REDIRECT``, ``NGINX_RULES`` or
``APACHE_RULES``. Output: the bytes of the file. Made by code, not by the
theme's templates: a redirect page is a fixed small thing that must work on any
static server (meta refresh, canonical link, a visible link for whoever has
refreshes turned off), and the server rules are configuration, not content.

The rules give the permanent redirect (301) search engines and feed readers
follow; the pages work the moment they are uploaded, also where the rules are
not (yet) loaded: nginx and Apache read included files only on reload.
Addresses in the rules are paths under the base path, so they hold for a
sub-path build, and the redirect's ``Location`` is relative (nginx
``absolute_redirect off``): it keeps the scheme and host the visitor used.
"""

from __future__ import annotations

import re

from markupsafe import escape  # as the templates escape (&#39;), so pages read alike

from kldigital_site.model import Route, RouteKind, Site
from kldigital_site.redirects import APACHE_RULES_FILE, NGINX_RULES_FILE
from kldigital_site.render.views import content_security_policy

_PAGE = """\
<!DOCTYPE html>
<html lang="de">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="referrer" content="strict-origin-when-cross-origin">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Diese Seite ist umgezogen – {site_title}</title>
<meta name="robots" content="noindex">
<meta http-equiv="refresh" content="0; url={target}">
<link rel="canonical" href="{canonical}">
</head>
<body>
<main>
<h1>Diese Seite ist umgezogen</h1>
<p>Diese Seite ist umgezogen: <a href="{target}">{title}</a></p>
</main>
</body>
</html>
"""


def render_redirect_file(route: Route, site: Site) -> bytes:
    """The bytes of a route whose kind is one of this module's."""
    if route.kind is RouteKind.NGINX_RULES:
        return nginx_rules(site)
    if route.kind is RouteKind.APACHE_RULES:
        return apache_rules(site)
    return redirect_page(route, site)


def redirect_page(route: Route, site: Site) -> bytes:
    """The page at an old address: sends the visitor to the item's page at once."""
    assert route.item is not None
    item = site.items[route.item]
    config = site.config
    page = _PAGE.format(
        # The pages' own policy (render/views.py), first in the head as on every page.
        csp=escape(content_security_policy(config.iframe_hosts)),
        site_title=escape(config.title),
        # Relative to the host: the same tree works on the preview server and
        # behind any host name; the canonical link names the real one.
        target=escape(config.base_path + item.url),
        canonical=escape(config.base_url + item.url),
        title=escape(item.title),
    )
    return page.encode("utf-8")


def _redirects(site: Site) -> list[tuple[str, str, bool]]:
    """(old path, new path, is a folder) of every redirect, both under the base path."""
    base = site.config.base_path
    return [
        (base + route.url, base + site.items[route.item].url, route.url.endswith("/"))
        for route in site.routes
        if route.kind is RouteKind.REDIRECT and route.item is not None
    ]


def _header(comment: str, what: str, redirects: list[tuple[str, str, bool]]) -> list[str]:
    lines = [
        f"{comment} Written by kldigital-site from the aliases: of the content; do not edit.",
        f"{comment} {what}",
    ]
    if not redirects:
        lines.append(f"{comment} No document has aliases: no redirects.")
    return lines


def nginx_rules(site: Site) -> bytes:
    """``location =`` blocks for the server block that includes this file.

    Exact-match locations take precedence over every prefix and regular
    expression location, so the rules need no place of their own in the block.
    """
    redirects = _redirects(site)
    lines = _header(
        "#",
        f"Included by the server block (docs/deployment.md) as {NGINX_RULES_FILE};"
        " reload nginx after a deploy.",
        redirects,
    )
    for old, new, folder in redirects:
        lines.append(f"location = {old} {{ return 301 {new}; }}")
        if folder:  # the folder without its final slash: one redirect, not two
            lines.append(f"location = {old.rstrip('/')} {{ return 301 {new}; }}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def apache_rules(site: Site) -> bytes:
    """``RedirectMatch`` lines (mod_alias): for ``Include`` in the VirtualHost, or
    copied into an ``.htaccess`` where the hoster allows nothing else."""
    redirects = _redirects(site)
    lines = _header(
        "#",
        f"Included by the VirtualHost (docs/deployment.md) as {APACHE_RULES_FILE};"
        " reload Apache after a deploy.",
        redirects,
    )
    for old, new, folder in redirects:
        pattern = re.escape(old.rstrip("/")) + ("/?" if folder else "")
        lines.append(f'RedirectMatch permanent "^{pattern}$" "{new}"')
    return ("\n".join(lines) + "\n").encode("utf-8")
