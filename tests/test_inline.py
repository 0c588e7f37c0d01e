"""markdown/inline.py: skipping inline patterns that cannot match leaves every body's HTML,
text, links and messages exactly as upstream's loop makes them."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown.treeprocessors import InlineProcessor

from kldigital_site.markdown.inline import TRIGGERS
from kldigital_site.markdown.renderer import MarkdownRenderer, RenderedMarkdown

FIXTURES = Path(__file__).parent / "fixtures"

# Every inline construct, on its own and in company.
SAMPLES = [
    "Ein `Code`-Wort, \\*kein Stern\\* und ein Fußnotenverweis[^1].\n\n[^1]: Die Fußnote.",
    "Das [Living Lab]{lang=en} und [ein Link](../projekte/dritte-orte.md) im Satz.",
    "[Verweis][ref] und [ref], dazu ![Bild](../medien/bild.jpg) und ![Bild][img].\n\n"
    "[ref]: /projekte/\n[img]: ../medien/bild.jpg",
    "Adressen: <https://www.kaiserslautern.de/> und <presse@kaiserslautern.de>.",
    'Zwei Leerzeichen  \nbrechen die Zeile, <span lang="en">raw</span> &amp; &#64; &copy;.',
    "*kursiv*, **fett**, _auch kursiv_, __auch fett__, ***beides*** und 2 * 3 = 6.",
    "„Zitat mit *Betonung* und `Code`“ – und ein <b>fettes</b> Wort.\n\n"
    "> Zitat [mit Link](/projekte/)",
    "- Punkt mit [Link](/projekte/)\n- Punkt mit *Stern*\n\n1. Eins\n2. Zwei `x`",
    "| a | b |\n|:--|--:|\n| *x* | [y](/projekte/) |",
    "Unbekannt: [nichts](gibt-es-nicht.md) und ![kaputt](fehlt.png) [^fehlt]",
    "Text ohne jede Auszeichnung, nur Wörter und Satzzeichen: so sieht ein Absatz meist aus.",
]

SITE = {
    "../projekte/dritte-orte.md": "/projekte/dritte-orte/",
    "/projekte/": "/projekte/",
    "../medien/bild.jpg": "/medien/bild.jpg",
}


def _bodies() -> list[str]:
    files = sorted(FIXTURES.rglob("*.md"))
    return SAMPLES + [path.read_text(encoding="utf-8", errors="replace") for path in files]


def _render(renderer: MarkdownRenderer, body: str) -> RenderedMarkdown:
    return renderer.render(body, path="content/x.md", first_line=3, resolve_link=SITE.get)


def test_bodies_render_exactly_as_with_upstreams_inline_loop() -> None:
    fast = MarkdownRenderer(iframe_hosts=["www.youtube-nocookie.com"])
    plain = MarkdownRenderer(iframe_hosts=["www.youtube-nocookie.com"])
    processor = plain._md.treeprocessors["inline"]
    assert type(processor) is not InlineProcessor, "the renderer must use the faster loop"
    processor.__class__ = InlineProcessor
    bodies = _bodies()
    assert len(bodies) > 50
    for body in bodies:
        assert _render(fast, body) == _render(plain, body), body[:200]


def _without(text: str, strings: tuple[str, ...]) -> str:
    while any(s in text for s in strings):
        for s in strings:
            text = text.replace(s, "")
    return text


@pytest.mark.parametrize("name", sorted(TRIGGERS))
def test_a_pattern_finds_nothing_in_text_without_its_triggers(name: str) -> None:
    patterns = MarkdownRenderer()._md.inlinePatterns
    assert name in patterns, f"{name} is not registered: remove it from TRIGGERS"
    regex = patterns[name].getCompiledRegExp()
    texts = [line for body in _bodies() for line in [body, *body.split("\n\n")]]
    matching = [text for text in texts if regex.search(text)]
    assert matching, f"no sample holds what {name} matches: add one to SAMPLES"
    for text in matching:
        assert regex.search(_without(text, TRIGGERS[name])) is None, text[:200]
