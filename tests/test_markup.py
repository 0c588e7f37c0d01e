"""What an editor and a reader notice of markdown/renderer.py: typography, headings, links with the
right line numbers, and that no script survives into a page."""

from __future__ import annotations

import re
from collections.abc import Mapping

import pytest

from kldigital_site.errors import Severity
from kldigital_site.markdown.renderer import MarkdownRenderer, RenderedMarkdown
from kldigital_site.typography import smarten

PATH = "content/presse/2021-06-25-x.md"
SITE: Mapping[str, str] = {
    "../projekte/dritte-orte.md": "/sub/projekte/dritte-orte/",
    "/projekte/dritte-orte/": "/sub/projekte/dritte-orte/",
    "/projekte/": "/sub/projekte/",
    "../medien/bild.jpg": "/sub/medien/bild.jpg",
    "bericht.pdf?download=1": "/sub/medien/bericht.pdf",
}


class FakeResolver:
    """Records every call, answers from SITE."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    def __call__(self, target: str) -> str | None:
        self.calls.append(target)
        return SITE.get(target)


@pytest.fixture(scope="module")
def renderer() -> MarkdownRenderer:
    return MarkdownRenderer(iframe_hosts=["www.youtube-nocookie.com"])


def render(
    renderer: MarkdownRenderer,
    source: str,
    first_line: int = 1,
    resolver: FakeResolver | None = None,
) -> RenderedMarkdown:
    return renderer.render(
        source, path=PATH, first_line=first_line, resolve_link=resolver or FakeResolver()
    )


def messages(result: RenderedMarkdown) -> list[tuple[int, str, Severity]]:
    return [(p.line, p.message, p.severity) for p in result.problems]


# --- typography ------------------------------------------------------------------------


def test_german_quotes_apostrophes_dashes_and_ellipsis(renderer: MarkdownRenderer) -> None:
    result = render(
        renderer,
        "Das Projekt \"Dritte Orte\" heißt 'offen' -- und geht's los? Stadt - Land --- Fluss...",
    )
    expected = "Das Projekt „Dritte Orte“ heißt ‚offen‘ – und geht’s los? Stadt – Land — Fluss…"
    assert result.html == f"<p>{expected}</p>"
    assert result.first_paragraph == expected
    assert result.problems == ()


def test_quotes_around_inline_markup_and_links(renderer: MarkdownRenderer) -> None:
    result = render(renderer, 'Sie sagte "**Digital** ist [hier](/projekte/)" - ja.')
    assert result.first_paragraph == "Sie sagte „Digital ist hier“ – ja."


def test_code_is_left_alone(renderer: MarkdownRenderer) -> None:
    source = 'Text `"a" - b -- c... it\'s` und\n\n    "x" -- y...\n'
    result = render(renderer, source)
    assert '<code>"a" - b -- c... it\'s</code>' in result.html.replace("&quot;", '"')
    assert '<pre><code>"x" -- y...' in result.html.replace("&quot;", '"')


def test_escaped_quote_stays_straight(renderer: MarkdownRenderer) -> None:
    assert render(renderer, r"Zoll: 5\"").first_paragraph == 'Zoll: 5"'


def test_hyphen_inside_words_and_list_markers_is_kept(renderer: MarkdownRenderer) -> None:
    result = render(renderer, "- Smart-City-Projekt\n- E-Mail")
    assert "<li>Smart-City-Projekt</li>" in result.html
    assert "<li>E-Mail</li>" in result.html


@pytest.mark.parametrize(
    ("plain", "typeset"),
    [
        ('Projekt "Dritte Orte" startet', "Projekt „Dritte Orte“ startet"),
        ("Die 'kleine' Lösung", "Die ‚kleine‘ Lösung"),
        ("Wie geht's? O'Reilly", "Wie geht’s? O’Reilly"),
        ("Klaus' Fahrrad aus den '90ern", "Klaus’ Fahrrad aus den ’90ern"),
        ("Stadt - Land -- Fluss --- Meer...", "Stadt – Land – Fluss — Meer…"),
        ('"Zitat" am Anfang', "„Zitat“ am Anfang"),
        ("Smart-City-Modellprojekt", "Smart-City-Modellprojekt"),
        ("", ""),
    ],
)
def test_smarten_plain_strings(plain: str, typeset: str) -> None:
    assert smarten(plain) == typeset


# --- headings --------------------------------------------------------------------------


def test_heading_ids_are_german_slugs_and_unique(renderer: MarkdownRenderer) -> None:
    result = render(renderer, "## Straße und Plätze\n\ntext\n\n## Straße und Plätze\n")
    ids = re.findall(r'<h2 id="([^"]+)"', result.html)
    assert ids[0] == "strasse-und-plaetze"
    assert len(set(ids)) == 2
    assert "¶" not in result.html and "headerlink" not in result.html


@pytest.mark.parametrize("top", ["#", "##", "###"])
def test_top_body_heading_becomes_h2(renderer: MarkdownRenderer, top: str) -> None:
    result = render(renderer, f"{top} Oben\n\n{top}# Darunter\n")
    assert re.findall(r"<(h\d)", result.html) == ["h2", "h3"]
    assert "<h1" not in result.html


# --- tables, footnotes, plain text -----------------------------------------------------


def test_table_renders_with_alignment(renderer: MarkdownRenderer) -> None:
    result = render(renderer, "| Jahr | Mittel |\n|:-----|------:|\n| 2021 | 1 Mio. |\n")
    assert "<table>" in result.html
    # As classes: HTML5 made align obsolete and style attributes break the CSP.
    assert '<th class="align-left">Jahr</th>' in result.html
    assert '<td class="align-right">1 Mio.</td>' in result.html
    assert " align=" not in result.html


def test_footnotes_render_link_back_and_stay_out_of_the_summary(
    renderer: MarkdownRenderer,
) -> None:
    result = render(renderer, "Förderung durch das Land[^1].\n\n[^1]: Quelle: Ministerium.\n")
    assert 'href="#fn:1"' in result.html
    assert 'id="fn:1"' in result.html
    assert 'href="#fnref:1"' in result.html
    assert "Zurück zu Fußnote 1 im Text" in result.html
    assert result.first_paragraph == "Förderung durch das Land."
    assert result.plain_text == "Förderung durch das Land. Quelle: Ministerium."
    assert result.problems == ()


def test_first_paragraph_skips_headings_and_images(renderer: MarkdownRenderer) -> None:
    source = "## Titel\n\n![Foto](../medien/bild.jpg)\n\nErster *echter* Absatz &amp; mehr.\n"
    result = render(renderer, source)
    assert result.first_paragraph == "Erster echter Absatz & mehr."


# --- links -----------------------------------------------------------------------------


def test_internal_links_are_resolved_and_fragments_kept(renderer: MarkdownRenderer) -> None:
    resolver = FakeResolver()
    source = (
        "Siehe [Dritte Orte](../projekte/dritte-orte.md#ziele), "
        "[dasselbe](/projekte/dritte-orte/), [noch mal](../projekte/dritte-orte.md), "
        "[PDF](bericht.pdf?download=1) und [extern](https://example.org/x).\n\n"
        "[Mail](mailto:presse@example.org) ![Foto](../medien/bild.jpg)\n"
    )
    result = render(renderer, source, resolver=resolver)
    assert 'href="/sub/projekte/dritte-orte/#ziele"' in result.html
    assert 'href="/sub/projekte/dritte-orte/"' in result.html
    assert 'href="/sub/medien/bericht.pdf?download=1"' in result.html
    assert 'href="https://example.org/x"' in result.html
    assert 'href="mailto:presse@example.org"' in result.html
    assert 'src="/sub/medien/bild.jpg"' in result.html
    assert result.links == (
        "../projekte/dritte-orte.md",
        "/projekte/dritte-orte/",
        "bericht.pdf?download=1",
        "../medien/bild.jpg",
    )
    assert "https://example.org/x" not in resolver.calls
    assert "mailto:presse@example.org" not in resolver.calls
    assert result.problems == ()


def test_automatic_links_are_external(renderer: MarkdownRenderer) -> None:
    resolver = FakeResolver()
    result = render(renderer, "<https://example.org/a--b> <presse@example.org>", resolver=resolver)
    assert '<a href="https://example.org/a--b">https://example.org/a--b</a>' in result.html
    assert "presse@example.org</a>" in result.html
    assert 'href="/' not in result.html
    assert resolver.calls == []
    assert result.problems == ()


def test_links_in_raw_html_are_resolved_too(renderer: MarkdownRenderer) -> None:
    result = render(renderer, '<p><a href="../projekte/dritte-orte.md#ziele">Orte</a></p>\n')
    assert '<a href="/sub/projekte/dritte-orte/#ziele">Orte</a>' in result.html


def test_broken_link_is_an_error_on_its_file_line(renderer: MarkdownRenderer) -> None:
    # Body starts on file line 7; the link is on the 3rd body line → line 9.
    source = "Erste Zeile.\n\nHier ein [kaputter Link](../projekte/gibt-es-nicht.md).\n"
    result = render(renderer, source, first_line=7)
    assert messages(result) == [
        (
            9,
            "Link „../projekte/gibt-es-nicht.md“ zeigt auf nichts "
            "(keine Datei, keine Seite mit dieser Adresse)",
            Severity.ERROR,
        )
    ]
    assert str(result.problems[0]).startswith(f"{PATH}:9: Link „")


def test_each_occurrence_of_a_broken_link_gets_its_own_line(renderer: MarkdownRenderer) -> None:
    source = "Text über fehlt.md ohne Link.\n\n[a](fehlt.md)\n\nmehr\n\n[b](fehlt.md)\n"
    result = render(renderer, source, first_line=3)
    assert [line for line, _, _ in messages(result)] == [5, 9]


def test_broken_reference_link_points_at_its_definition(renderer: MarkdownRenderer) -> None:
    source = "Ein [Verweis][v].\n\n[v]: ../fehlt.md\n"
    result = render(renderer, source, first_line=10)
    assert [(line, severity) for line, _, severity in messages(result)] == [(12, Severity.ERROR)]


def test_missing_image_is_an_error(renderer: MarkdownRenderer) -> None:
    result = render(renderer, "Text\n\n![Plan](../medien/fehlt.png)\n", first_line=4)
    assert messages(result) == [(6, "Bild „../medien/fehlt.png“ nicht gefunden", Severity.ERROR)]


def test_fragment_links_must_match_an_id_on_the_page(renderer: MarkdownRenderer) -> None:
    source = (
        "[nach unten](#straße-kaputt) [Ziel](#ziele) [Fußnote](#fn:1) [oben](#)\n\n"
        "## Ziele\n\nText[^1]\n\n[^1]: Notiz\n"
    )
    result = render(renderer, source, first_line=2)
    assert messages(result) == [
        (2, "Sprungmarke „#straße-kaputt“ gibt es auf dieser Seite nicht", Severity.ERROR)
    ]
    assert 'href="#ziele"' in result.html


def test_image_without_alt_text_warns(renderer: MarkdownRenderer) -> None:
    result = render(renderer, "Text\n\n![](../medien/bild.jpg)\n", first_line=5)
    assert messages(result) == [(7, "Bild ohne Alternativtext (alt)", Severity.WARNING)]
    assert 'src="/sub/medien/bild.jpg"' in result.html


# --- sanitising ------------------------------------------------------------------------

XSS_VECTORS = [
    ("<script>alert(1)</script>", "<script>"),
    ("<SCRIPT SRC=//evil.example/x.js></SCRIPT>", "<script>"),
    ('<img src="../medien/bild.jpg" alt="x" onerror="alert(1)">', "onerror"),
    ("<img src=x onerror=alert(1)>", "onerror"),
    ("[klick](javascript:alert(1))", "javascript:"),
    ("[klick](JAVASCRIPT:alert(1))", "javascript:"),
    ('<a href="jav&#x09;ascript:alert(1)">klick</a>', "javascript:"),
    ('<a href="&#106;avascript:alert(1)">klick</a>', "javascript:"),
    ('<a href="  javascript:alert(1)">klick</a>', "javascript:"),
    ('<a href="vbscript:msgbox(1)">klick</a>', "vbscript:"),
    ("[klick](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)", "data:"),
    ('<img src="data:image/svg+xml;base64,PHN2Zz4=" alt="x">', "data:"),
    ('<svg onload="alert(1)"><circle r="1"/></svg>', "<svg>"),
    ("<svg/onload=alert(1)>", "<svg>"),
    ('<iframe src="https://evil.example/x"></iframe>', "<iframe>"),
    ('<iframe src="javascript:alert(1)"></iframe>', "<iframe>"),
    ('<p style="width: expression(alert(1))">Text</p>', "style"),
    ('<div onclick="alert(1)">Text</div>', "onclick"),
    ("## Titel {: onclick=alert(1) }", "onclick"),
    ('<form action="https://evil.example"><input name="q"></form>', "<form>"),
    ('<object data="x.swf"></object>', "<object>"),
    ('<embed src="x.swf">', "<embed>"),
    ("<math><mtext>x</mtext></math>", "<math>"),
    ("<style>body{background:url(javascript:alert(1))}</style>", "<style>"),
]


@pytest.mark.parametrize(("vector", "reported"), XSS_VECTORS)
def test_xss_vectors_do_not_survive_and_are_reported(
    renderer: MarkdownRenderer, vector: str, reported: str
) -> None:
    source = f"Einleitung.\n\n{vector}\n\nSchluss.\n"
    result = render(renderer, source, first_line=20)
    html = result.html.lower()
    for dangerous in (
        "<script",
        "javascript:",
        "vbscript:",
        "data:",
        "onerror",
        "onload",
        "onclick",
        "expression(",
        "<svg",
        "<math",
        "<iframe",
        "<form",
        "<input",
        "<object",
        "<embed",
        "<style",
        "style=",
    ):
        assert dangerous not in html, (dangerous, result.html)
    warnings = [p for p in result.problems if p.severity is Severity.WARNING]
    assert warnings, result.html
    assert all(p.line == 22 for p in warnings), messages(result)
    assert any(reported in p.message.lower() for p in warnings), messages(result)
    assert "Einleitung." in result.html and "Schluss." in result.html


def test_warning_messages_are_german_and_name_the_culprit(renderer: MarkdownRenderer) -> None:
    source = (
        "<script>alert(1)</script>\n\n"
        '<img src="../medien/bild.jpg" alt="Plan" onclick="x()">\n\n'
        '<a href="javascript:alert(1)">x</a>\n'
    )
    assert messages(render(renderer, source)) == [
        (1, "Unsicheres HTML entfernt: <script>", Severity.WARNING),
        (3, "Attribut „onclick“ an <img> entfernt", Severity.WARNING),
        (5, "Link mit unerlaubtem Schema „javascript:“ entfernt", Severity.WARNING),
    ]


def test_lines_inside_a_multi_line_html_block(renderer: MarkdownRenderer) -> None:
    source = (
        "Text\n\n<div>\n  <p>Absatz</p>\n"
        '  <a href="javascript:alert(1)">x</a>\n'
        '  <iframe src="https://evil.example/"></iframe><script>x()</script>\n'
        '  <a href="../fehlt.md">kaputt</a>\n</div>\n'
    )
    result = render(renderer, source, first_line=10)
    assert [(line, message[:25]) for line, message, _ in messages(result)] == [
        (14, "Link mit unerlaubtem Sche"),
        (15, "Unsicheres HTML entfernt:"),
        (15, "Unsicheres HTML entfernt:"),
        (16, "Link „../fehlt.md“ zeigt "),
    ]
    assert "<div>" in result.html and "Absatz" in result.html
    assert "<iframe" not in result.html and "x()" not in result.html


def test_empty_link_target_is_an_error_and_not_resolved(renderer: MarkdownRenderer) -> None:
    resolver = FakeResolver()
    result = render(renderer, "[nirgendwo]()\n", resolver=resolver)
    assert [severity for _, _, severity in messages(result)] == [Severity.ERROR]
    assert resolver.calls == []
    assert result.links == ()


def test_links_in_headings_and_tables_are_resolved(renderer: MarkdownRenderer) -> None:
    source = "# Zu [Orten](/projekte/)\n\n| Wo |\n|----|\n| [hier](../projekte/dritte-orte.md) |\n"
    result = render(renderer, source)
    assert '<h2 id="zu-orten">Zu <a href="/sub/projekte/">Orten</a></h2>' in result.html
    assert '<td><a href="/sub/projekte/dritte-orte/">hier</a></td>' in result.html


def test_raw_html_that_html_parser_cannot_read_does_not_crash(
    renderer: MarkdownRenderer,
) -> None:
    # html.parser before Python 3.13 raises AssertionError on "<![x"; the page still renders.
    result = render(renderer, "<div>Text <![x <b>fett</b></div>\n", first_line=3)
    assert all(p.line == 3 and p.severity is Severity.WARNING for p in result.problems)
    assert "<![x" not in result.html


def test_script_content_is_dropped_not_shown_as_text(renderer: MarkdownRenderer) -> None:
    result = render(renderer, "<script>var geheim = 1;</script>\n\nText\n")
    assert "geheim" not in result.html
    assert "geheim" not in result.plain_text


def test_harmless_raw_html_is_kept(renderer: MarkdownRenderer) -> None:
    source = (
        '<details><summary>Mehr</summary>Inhalt mit <abbr title="Smart City">SC</abbr>, '
        "<mark>Markierung</mark> und <kbd>Strg</kbd>.</details>\n\n"
        'Ein <span class="x">Span</span>.\n'
    )
    result = render(renderer, source)
    assert result.problems == ()
    for kept in (
        "<details>",
        "<summary>Mehr</summary>",
        '<abbr title="Smart City">',
        "<mark>",
        "<kbd>",
        '<span class="x">',
    ):
        assert kept in result.html


def test_links_get_no_rel_added(renderer: MarkdownRenderer) -> None:
    assert "rel=" not in render(renderer, "[x](https://example.org/)").html


def test_allowed_iframe_host_survives(renderer: MarkdownRenderer) -> None:
    source = (
        '<iframe src="https://www.youtube-nocookie.com/embed/abc" title="Video" '
        'width="560" height="315" allowfullscreen></iframe>\n'
    )
    result = render(renderer, source)
    assert result.problems == ()
    assert '<iframe src="https://www.youtube-nocookie.com/embed/abc" title="Video"' in result.html


@pytest.mark.parametrize(
    "src",
    [
        "http://www.youtube-nocookie.com/embed/abc",  # not https
        "https://www.youtube-nocookie.com.evil.example/embed/abc",
        "https://evil.example\\@www.youtube-nocookie.com/embed/abc",
        "https://www.youtube.com/embed/abc",  # not the exact host
    ],
)
def test_iframe_from_other_hosts_is_removed(renderer: MarkdownRenderer, src: str) -> None:
    result = render(renderer, f'Text\n\n<iframe src="{src}">Fallback</iframe>\n', first_line=3)
    assert "<iframe" not in result.html
    assert "Fallback" not in result.html
    assert [(p.line, p.severity) for p in result.problems] == [(5, Severity.WARNING)]


def test_without_configured_hosts_no_iframe_survives() -> None:
    source = '<iframe src="https://www.youtube-nocookie.com/embed/abc"></iframe>\n'
    result = render(MarkdownRenderer(), source)
    assert "<iframe" not in result.html
    assert len(result.problems) == 1


# --- the renderer as a reusable component ----------------------------------------------


def test_renderer_reuse_leaks_nothing_between_documents(renderer: MarkdownRenderer) -> None:
    first = render(renderer, "## Ziele\n\nText[^1] [x](fehlt.md)\n\n[^1]: a\n")
    second = render(renderer, "## Ziele\n\n[oben](#ziele)\n")
    assert 'id="ziele"' in second.html
    assert "footnote" not in second.html
    assert second.problems == ()
    assert first.html == render(renderer, "## Ziele\n\nText[^1] [x](fehlt.md)\n\n[^1]: a\n").html


def test_a_word_in_braces_after_a_table_cell_is_a_warning_not_a_crash(
    renderer: MarkdownRenderer,
) -> None:
    # Python-Markdown 3.11.4 reads "{what, why}" ending a cell as an attribute list whose
    # words have no value (None): that ended the build with a traceback.
    source = "Vorspann\n\n| Feld | Inhalt |\n|---|---|\n| Mängel | Liste aus {was, warum} |\n"
    result = render(renderer, source)
    assert "<td>Liste aus</td>" in result.html
    assert [(message, severity) for _, message, severity in messages(result)] == [
        ("Attribut „was_“ an <td> entfernt", Severity.WARNING),
        ("Attribut „warum“ an <td> entfernt", Severity.WARNING),
    ]
