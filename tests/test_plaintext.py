"""Body HTML as journalists' plain text (render/plaintext.py).

The converter reads its input with one regular expression instead of the
standard library's ``HTMLParser``; these tests hold the two to the same text for
the HTML the Markdown stage writes, and pin what the text looks like.
"""

from __future__ import annotations

from html.parser import HTMLParser

from hypothesis import given, settings
from hypothesis import strategies as st

from kldigital_site.render.plaintext import TextConverter, html_to_text

BASE_URL = "https://example.org/sub/"


class _StdlibReader(HTMLParser):
    """The same converter fed by ``HTMLParser``, as before the regular expression."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.converter = TextConverter(BASE_URL)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.converter.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        self.converter.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        self.converter.handle_data(data)


def _read_with_html_parser(html: str) -> list[str]:
    reader = _StdlibReader()
    reader.feed(html)
    reader.close()
    reader.converter.finish()
    return reader.converter.blocks


# Text and attribute values as nh3 writes them: entities, typography, a ">" in a value.
_TEXT = st.lists(
    st.sampled_from(
        ["Wort", " ", "\n", "&amp;", "&lt;b&gt;", "&nbsp;", "„Zitat“", "–", "ä", "&#8203;", "x > y"]
    ),
    max_size=6,
).map("".join)
_VALUE = st.sampled_from(
    ["/projekte/a/", "#fn:1", "https://example.org/?a=1&amp;b=2", "mailto:a@example.org", "a > b"]
)


def _element(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    block = st.sampled_from(["p", "h2", "h3", "blockquote", "pre", "li", "td", "th", "tr", "dd"])
    container = st.sampled_from(["ul", "ol", "table", "tbody", "thead", "div", "section", "dl"])
    inline = st.sampled_from(["strong", "em", "code", "sup", "span", "abbr"])
    return st.one_of(
        st.builds(
            lambda t, c: f"<{t}>{''.join(c)}</{t}>",
            block | container | inline,
            st.lists(children, max_size=4),
        ),
        st.builds(
            lambda v, c, t: f'<a href="{v}" class="{c}">{t}</a>',
            _VALUE,
            st.sampled_from(["", "footnote-ref", "footnote-backref"]),
            children,
        ),
        # Unquoted, as minify-html writes them: the "/" ends the value, not the tag.
        st.builds(
            lambda v, t: f"<a href={v}>{t}</a>", st.sampled_from(["/a/", "x", "#f"]), children
        ),
        st.builds(
            lambda c, t: f'<div class="{c}">{t}</div>',
            st.sampled_from(["footnote", "note"]),
            children,
        ),
        st.builds(
            lambda s, t: f'<ol start="{s}">{t}</ol>', st.sampled_from(["3", "x", ""]), children
        ),
        st.builds(lambda a: f'<img src="/a.jpg" alt="{a}">', _TEXT),
        st.builds(
            lambda a: f"<iframe title='{a}' src=\"https://www.youtube-nocookie.com/e\"></iframe>",
            _TEXT,
        ),
        st.sampled_from(["<br>", "<br/>", "<hr>", "<!-- Kommentar -->"]),
    )


_HTML = st.recursive(_TEXT, lambda children: _element(children), max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(st.lists(_HTML, max_size=6).map("".join))
def test_the_text_is_what_the_standard_html_parser_reads(html: str) -> None:
    assert html_to_text(html, BASE_URL) == _read_with_html_parser(html)


def test_links_lists_and_tables_become_plain_lines() -> None:
    html = (
        '<p>Mehr im <a href="/sub/projekte/atlas/">Steckbrief</a> &amp; bei '
        '<a href="mailto:presse@example.org">presse@example.org</a>.</p>'
        "<ul><li>eins</li><li>zwei <strong>fett</strong></li></ul>"
        '<ol start="3"><li>drei</li></ol>'
        "<table><tr><th>Jahr</th><th>Zahl</th></tr><tr><td>2024</td><td>1.200</td></tr></table>"
        '<p title="a > b">Ende<br>neu</p>'
    )
    assert html_to_text(html, BASE_URL) == [
        "Mehr im Steckbrief (https://example.org/sub/projekte/atlas/) & bei presse@example.org.",
        "• eins",
        "• zwei fett",
        "3. drei",
        "Jahr | Zahl\n2024 | 1.200",
        "Ende neu",
    ]
