"""Issue 14, "URLs never break": ``aliases:`` give old addresses a redirect page and a
permanent redirect in the generated nginx and Apache rules. Wrong aliases are the
invalid fixtures ``alias-*`` (tests/test_invalid.py)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from kldigital_site.errors import BuildFailed
from kldigital_site.render.views import content_security_policy
from tests.conftest import build_site_at

MakeSite = Callable[[Mapping[str, str | bytes]], Path]

RELEASE = "content/presse/2024-05-02-erste-mitteilung.md"
MOVED = """\
---
title: Erste Mitteilung & mehr
date: 2024-05-02
aliases: [/presse/alte-mitteilung/, /presse/ganz-alt, /archiv/meldung.html]
---
Text der Mitteilung.
"""
EMBARGOED = "content/presse/2027-01-15-sperrfrist.md"
EMBARGOED_TEXT = """\
---
title: Mit Sperrfrist
date: 2027-01-15T09:00:00+01:00
aliases: [/presse/geheim-alt/]
---
Erscheint erst am 15. Januar 2027.
"""
NGINX = "_server/redirects.nginx.conf"
CSP = content_security_policy(()).replace("'", "&#39;")  # the pages' own policy
APACHE = "_server/redirects.apache.conf"


def _read(out: Path, path: str) -> str:
    return (out / path).read_text(encoding="utf-8")


def test_an_alias_gets_a_page_that_sends_the_visitor_on(make_site: MakeSite) -> None:
    root = make_site({RELEASE: MOVED})
    out = root / "output"
    result = build_site_at(root, output=out, base_url="https://example.org/sub/")
    page = _read(out, "presse/alte-mitteilung/index.html")
    assert page == (
        "<!DOCTYPE html>\n"
        '<html lang="de">\n'
        "<head>\n"
        '<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        '<meta name="referrer" content="strict-origin-when-cross-origin">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>Diese Seite ist umgezogen – Minimal</title>\n"
        '<meta name="robots" content="noindex">\n'
        '<meta http-equiv="refresh" content="0; url=/sub/presse/erste-mitteilung/">\n'
        '<link rel="canonical" href="https://example.org/sub/presse/erste-mitteilung/">\n'
        "</head>\n"
        "<body>\n"
        "<main>\n"
        "<h1>Diese Seite ist umgezogen</h1>\n"
        "<p>Diese Seite ist umgezogen: "
        '<a href="/sub/presse/erste-mitteilung/">Erste Mitteilung &amp; mehr</a></p>\n'
        "</main>\n"
        "</body>\n"
        "</html>\n"
    )
    # Without a final slash the alias means the folder; a .html alias is that very file.
    assert (out / "presse/ganz-alt/index.html").is_file()
    assert "url=/sub/presse/erste-mitteilung/" in _read(out, "archiv/meldung.html")
    # No page of the site: not in the sitemap, the search index, the feed or the count.
    for path in ("sitemap.xml", "presse/feed.xml"):
        assert "alte-mitteilung" not in _read(out, path)
        assert "ganz-alt" not in _read(out, path)
    indexed = b"".join(p.read_bytes() for p in (out / "pagefind").rglob("*") if p.is_file())
    assert b"alte-mitteilung" not in indexed
    without = build_site_at(make_site({}), output=root.parent / "ohne")
    assert result.pages == without.pages


def test_the_server_rules_redirect_permanently_under_the_base_path(make_site: MakeSite) -> None:
    root = make_site({RELEASE: MOVED})
    out = root / "output"
    build_site_at(root, output=out, base_url="https://example.org/sub/")
    assert _read(out, NGINX).splitlines()[2:] == [
        "location = /sub/archiv/meldung.html { return 301 /sub/presse/erste-mitteilung/; }",
        "location = /sub/presse/alte-mitteilung/ { return 301 /sub/presse/erste-mitteilung/; }",
        "location = /sub/presse/alte-mitteilung { return 301 /sub/presse/erste-mitteilung/; }",
        "location = /sub/presse/ganz-alt/ { return 301 /sub/presse/erste-mitteilung/; }",
        "location = /sub/presse/ganz-alt { return 301 /sub/presse/erste-mitteilung/; }",
    ]
    assert _read(out, APACHE).splitlines()[2:] == [
        'RedirectMatch permanent "^/sub/archiv/meldung\\.html$" "/sub/presse/erste-mitteilung/"',
        'RedirectMatch permanent "^/sub/presse/alte\\-mitteilung/?$" '
        '"/sub/presse/erste-mitteilung/"',
        'RedirectMatch permanent "^/sub/presse/ganz\\-alt/?$" "/sub/presse/erste-mitteilung/"',
    ]
    build_site_at(root, output=root / "wurzel", base_url="https://example.org/")
    assert "location = /presse/ganz-alt { return 301 /presse/erste-mitteilung/; }" in _read(
        root / "wurzel", NGINX
    )


def test_the_rule_files_are_written_without_any_alias(make_site: MakeSite) -> None:
    root = make_site({})
    build_site_at(root, output=root / "output")
    # An `include` of them never fails; what they say is a comment.
    for path in (NGINX, APACHE):
        lines = _read(root / "output", path).splitlines()
        assert lines[-1] == "# No document has aliases: no redirects."
        assert all(line.startswith("#") for line in lines)


def test_adding_and_removing_an_alias_in_incremental_builds(make_site: MakeSite) -> None:
    root = make_site({})
    out = root / "output"
    build_site_at(root, output=out)
    (root / RELEASE).write_text(MOVED, encoding="utf-8")
    added = build_site_at(root, output=out)
    assert added.report is not None
    assert {"presse/alte-mitteilung/index.html", NGINX, APACHE} <= set(added.report.written)
    assert (out / "presse/alte-mitteilung/index.html").is_file()
    (root / RELEASE).write_text(MOVED.replace("/presse/alte-mitteilung/, ", ""), "utf-8")
    removed = build_site_at(root, output=out)
    assert removed.report is not None
    assert removed.report.removed == ("presse/alte-mitteilung/index.html",)
    assert not (out / "presse/alte-mitteilung").exists()
    assert "alte-mitteilung" not in _read(out, NGINX) + _read(out, APACHE)
    assert (out / "presse/ganz-alt/index.html").is_file()


def test_an_embargoed_release_keeps_its_aliases_until_it_is_published(
    make_site: MakeSite,
) -> None:
    root = make_site({EMBARGOED: EMBARGOED_TEXT})
    out = root / "output"
    build_site_at(root, output=out)
    # The old address would give the embargoed release's new one away.
    assert not (out / "presse/geheim-alt").exists()
    assert "geheim" not in _read(out, NGINX) + _read(out, APACHE)
    after = dt.datetime(2027, 1, 15, 8, 0, tzinfo=dt.UTC)
    build_site_at(root, output=out, now=after)
    assert "url=/presse/sperrfrist/" in _read(out, "presse/geheim-alt/index.html")
    assert "location = /presse/geheim-alt/ { return 301 /presse/sperrfrist/; }" in _read(out, NGINX)


def test_a_drafts_aliases_only_in_the_preview(make_site: MakeSite) -> None:
    draft = MOVED.replace("date: 2024-05-02\n", "date: 2024-05-02\ndraft: true\n")
    root = make_site({RELEASE: draft})
    build_site_at(root, output=root / "output")
    assert not (root / "output/presse/alte-mitteilung").exists()
    build_site_at(root, output=root / "vorschau", drafts=True)
    assert (root / "vorschau/presse/alte-mitteilung/index.html").is_file()


UMLAUTS = """\
---
title: Bürgerbüro
date: 2024-05-02
aliases: [/aktuelles/bürgerbüro/, /stra%C3%9Fen/sperrung.html]
---
Text der Mitteilung.
"""


def test_an_old_address_with_umlauts_redirects_as_servers_compare_it(
    make_site: MakeSite,
) -> None:
    # Written as the old site showed it, or %-escaped as copied from the address bar.
    root = make_site({RELEASE: UMLAUTS})
    build_site_at(root)  # into root / "output"
    out = root / "output"
    page = out / "aktuelles" / "bürgerbüro" / "index.html"
    assert "url=/presse/erste-mitteilung/" in page.read_text(encoding="utf-8")
    assert (out / "straßen" / "sperrung.html").is_file()
    # Servers decode the path and compare its UTF-8 bytes with the rule's.
    nginx = (out / NGINX).read_bytes()
    rule = "location = /aktuelles/bürgerbüro/ { return 301 /presse/erste-mitteilung/; }"
    assert rule.encode() in nginx
    assert "location = /straßen/sperrung.html { return 301".encode() in nginx
    apache = (out / APACHE).read_bytes()
    assert 'RedirectMatch permanent "^/aktuelles/bürgerbüro/?$"'.encode() in apache


def test_one_old_address_in_both_spellings_is_named_twice(make_site: MakeSite) -> None:
    twice = UMLAUTS.replace("/stra%C3%9Fen/sperrung.html", "/aktuelles/b%C3%BCrgerb%C3%BCro/")
    root = make_site({RELEASE: twice})
    result = _problems(root)
    assert result == [
        f"{RELEASE}:4: „aliases“: „/aktuelles/bürgerbüro/“ steht schon weiter oben in der Liste."
    ]


def test_an_old_address_in_latin_1_is_refused_with_what_is_allowed(make_site: MakeSite) -> None:
    # %FC is "ü" in Latin-1, as some very old servers sent it: no UTF-8, no file name.
    latin = UMLAUTS.replace("/stra%C3%9Fen/sperrung.html", "/b%FCrger/")
    root = make_site({RELEASE: latin})
    assert _problems(root) == [
        f"{RELEASE}:4: „aliases“: „/b%FCrger/“ enthält Zeichen, die eine Weiterleitung nicht "
        "kann; erlaubt sind Buchstaben (auch ä, ö, ü, ß), Ziffern und - _ . ~ +"
    ]


def _problems(root: Path) -> list[str]:
    with pytest.raises(BuildFailed) as failed:
        build_site_at(root, output=root / "output")
    return [str(p) for p in failed.value.problems]
