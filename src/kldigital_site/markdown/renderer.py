"""Markdown bodies → safe HTML with German typography and checked links.

Input: the Markdown body of one content file (the text after the front matter), its path
relative to the site root, the file line on which the body begins and a ``LinkResolver``
from the model. Output: ``RenderedMarkdown`` — sanitised HTML, plain text for summaries and
search, the internal link targets used and the problems found (broken links are errors,
removed HTML is a warning), each with the file line an editor has to look at.

One ``MarkdownRenderer`` holds one configured ``markdown.Markdown``, reset between
documents instead of rebuilt (10,000 pages are a hot path). Like Python-Markdown itself it
is not thread-safe; use one per worker.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, partial
from html import escape, unescape
from html.parser import HTMLParser
from urllib.parse import unquote
from xml.etree.ElementTree import Element

import markdown
import nh3
from markdown.extensions.attr_list import AttrListExtension
from markdown.extensions.footnotes import FootnoteExtension
from markdown.extensions.sane_lists import SaneListExtension
from markdown.extensions.tables import TableExtension
from markdown.extensions.toc import TocExtension
from markdown.treeprocessors import Treeprocessor
from markdown.util import AMP_SUBSTITUTE, HTML_PLACEHOLDER_RE, AtomicString

from kldigital_site.accessibility.language import language_problem
from kldigital_site.errors import SiteError, warning
from kldigital_site.markdown import inline, spans
from kldigital_site.markdown.limits import bound_scans
from kldigital_site.slugs import slugify
from kldigital_site.typography import typeset

LinkResolver = Callable[[str], str | None]
# A resolved link's file type and size ("PDF, 1,2 MB"), None for pages and images.
DownloadLabel = Callable[[str], str | None]
# For a link or image path that points at nothing: the path the editor probably meant.
LinkAdvice = Callable[[str], str | None]


def _names(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _attribute_table(spec: str) -> Mapping[str, frozenset[str]]:
    pairs = (item.partition(":") for item in spec.split("|"))
    return {tag: _names(names) for tag, _, names in pairs}


# The allow-list: what Markdown and its extensions produce plus harmless raw HTML. nh3
# enforces it; _Document.inspect reports against the same constants, so every removal
# becomes a warning instead of silently missing content.
_TAGS = _names(
    "p br hr h2 h3 h4 h5 h6 strong em b i u s del ins mark small sub sup abbr cite q "
    "blockquote code pre kbd ul ol li dl dt dd a img figure figcaption table thead tbody "
    "tfoot tr th td caption details summary div span section"
)
_GENERIC_ATTRIBUTES = _names("id class title lang dir")
# th/td align: how the tables extension aligns columns when not using style.
_TAG_ATTRIBUTES = _attribute_table(
    "a:href hreflang|img:src alt width height loading|ol:start reversed type|li:value|"
    "th:colspan rowspan scope align|td:colspan rowspan align|del:datetime|ins:datetime|"
    "details:open|iframe:src title width height allowfullscreen loading"
)
_SCHEMES = frozenset({"http", "https", "mailto", "tel"})
# Removed with everything inside: their content is code or controls, not text.
_DROP_CONTENT = _names("script style svg math object template noscript textarea select")
_DANGEROUS = _DROP_CONTENT | _names("iframe embed form input button link meta base")
# Inline elements continue the text of their block; every other element starts a new one.
_INLINE = _names("a abbr b br cite code del em i img ins kbd mark q s small span strong sub sup u")
# Browsers ignore these in URLs, so "jav&#x09;ascript:" is javascript: (WHATWG URL parsing).
_URL_EDGE = "".join(map(chr, range(0x21)))
_URL_IGNORED = re.compile(r"[\t\n\r]")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
_IFRAME_HOST = re.compile(r"https://([a-z0-9.\-]+)(?::\d+)?(?:[/?#]|$)")
_HEADINGS = _names("h1 h2 h3 h4 h5 h6")
_IFRAME_CONTENT = re.compile(r'(<iframe\b(?:[^>"]|"[^"]*")*>).*?</iframe>', re.DOTALL)
_EMPTY_PARAGRAPH = re.compile(r"<p>\s*</p>\n?")


# The pages' Content-Security-Policy (views.content_security_policy) loads images from
# the site only, so visitors' addresses are not handed to other servers: say so at once.
_FOREIGN_IMAGE = (
    "Bild „{}“ liegt auf einem anderen Server und wird auf der Website nicht angezeigt "
    "(nur Bilder der Website selbst); bitte unter medien/ ablegen"
)


def _clean_url(value: str) -> str:
    return _URL_IGNORED.sub("", value.strip(_URL_EDGE))


def _iframe_host(url: str) -> str | None:
    # A strict pattern, not urlsplit: browsers read "https://evil\@good" as host "evil",
    # urlsplit as "good"; so backslashes and user info are refused outright.
    match = None if "\\" in url or "@" in url else _IFRAME_HOST.match(url.lower())
    return match.group(1) if match else None


@dataclass(frozen=True, slots=True)
class BodyImage:
    """An image shown in a body: media/ credits and processes it, the page shows it
    as ``<picture>`` with its credit (render/pictures.py)."""

    url: str  # the resolved address, base path included
    alt: str
    caption: str | None  # the Markdown title: ![Alt](bild.jpg "Bildunterschrift")
    credit: str | None  # ![…](…){credit="Foto: …"}
    line: int


@dataclass(frozen=True, slots=True)
class RenderedMarkdown:
    html: str  # final, sanitised HTML of the body
    first_paragraph: str  # plain text of the first <p> (default summary), typographic
    plain_text: str  # whole body as plain text (whitespace-normalised)
    links: tuple[str, ...]  # internal targets passed to the resolver, in order, unique
    problems: tuple[SiteError, ...]  # errors (broken links) and warnings (sanitiser removals)
    images: tuple[BodyImage, ...] = ()  # local images, in document order


class _Locator:
    """File line of text found in the rendered tree, by searching the Markdown source.

    Python-Markdown keeps no source positions. The n-th lookup of a needle returns the line
    of its n-th occurrence; each search resumes where the last one for that needle stopped,
    and lookups happen only for problems, so the cost stays linear.
    """

    def __init__(self, source: str, first_line: int) -> None:
        # Python-Markdown's own normalisation, which keeps the line count.
        self._text = source.replace("\r\n", "\n").replace("\r", "\n").expandtabs(4)
        self._first_line = first_line
        self._starts: list[int] = []
        self._cursors: dict[tuple[str, bool], tuple[int, int]] = {}

    def line_of(self, needle: str, *, as_target: bool = False) -> int:
        start, line = self._cursors.get((needle, as_target), (0, self._first_line))
        pos = self._text.find(needle, start) if needle else -1
        while as_target and pos >= 0 and not self._opens_target(pos):
            pos = self._text.find(needle, pos + 1)
        if pos < 0:  # more uses than occurrences (reference links): keep the last line
            return line
        if not self._starts:
            self._starts = [0, *(m.end() for m in re.finditer("\n", self._text))]
        line = self._first_line + bisect_right(self._starts, pos) - 1
        self._cursors[(needle, as_target)] = (pos + len(needle), line)
        return line

    def present(self, *needles: str) -> str:
        """The first of ``needles`` the source contains (else the last)."""
        return next((n for n in needles if n in self._text), needles[-1])

    def _opens_target(self, pos: int) -> bool:
        # A link target follows "(", "<", "=", a quote or "]:", not a word in running text.
        while pos > 0 and self._text[pos - 1] in " \t\n":
            pos -= 1
        return pos > 0 and self._text[pos - 1] in "(<=\"':"


# The line of one element: looked up only when a problem needs it, once (functools.cache).
_Where = Callable[[], int]


class _Document:
    """Everything collected while rendering one body; discarded afterwards."""

    def __init__(
        self,
        source: str,
        path: str,
        first_line: int,
        resolve: LinkResolver,
        hosts: frozenset[str],
        label: DownloadLabel | None = None,
        advise: LinkAdvice | None = None,
    ) -> None:
        self.locator = _Locator(source, first_line)
        self.path, self.resolve, self.hosts, self.label = path, resolve, hosts, label
        self.advise = advise
        self.problems: list[SiteError] = []
        self.images: list[BodyImage] = []
        self.resolved: dict[str, str | None] = {}  # insertion-ordered: becomes .links
        self.ids: set[str] = set()
        self.jumps: list[tuple[str, _Where]] = []
        # Inline raw HTML arrives tag by tag, so "inside <svg>" must outlive one piece.
        self.dropping: tuple[str, int] | None = None  # tag, nesting depth

    def warn(self, where: _Where, message: str) -> None:
        self.problems.append(warning(self.path, where(), message))

    def fail(self, where: _Where, message: str) -> None:
        self.problems.append(SiteError(self.path, where(), message))

    def inspect(
        self, tag: str, attrs: Mapping[str, str | None], where: _Where, *, from_markdown: bool
    ) -> dict[str, str]:
        """Report what the sanitiser will remove from an allowed element, check its link;
        return the attribute values to substitute (resolved internal links)."""
        allowed = _TAG_ATTRIBUTES.get(tag, frozenset())
        for name in attrs:
            if tag == "img" and name == "credit":
                continue  # the credit of a body image: taken by the image stage (media/)
            if name not in allowed and name not in _GENERIC_ATTRIBUTES:
                self.warn(where, f"Attribut „{name}“ an <{tag}> entfernt")
        self.ids.add(attrs.get("id") or "")
        lang = attrs.get("lang")
        if lang is not None and (problem := language_problem(lang.strip())) is not None:
            self.fail(where, problem)
        attr = {"a": "href", "img": "src"}.get(tag, "")
        target = attrs.get(attr)
        if target is None:
            return {}
        # In raw HTML alt="" marks a decorative image on purpose; ![](x) is an omission.
        no_alt = from_markdown or "alt" not in attrs
        if tag == "img" and no_alt and not (attrs.get("alt") or "").strip():
            self.warn(where, "Bild ohne Alternativtext (alt)")
        url = _clean_url(target)
        scheme = _SCHEME.match(url)
        if scheme:
            if scheme.group(1).lower() not in _SCHEMES:
                kind = "Link" if tag == "a" else "Bild"
                self.warn(
                    where, f"{kind} mit unerlaubtem Schema „{scheme.group().lower()}“ entfernt"
                )
            elif tag == "img":
                self.warn(where, _FOREIGN_IMAGE.format(target))
            return {}
        path, hash_mark, fragment = url.partition("#")
        if url.startswith("//"):  # protocol-relative: another host
            if tag == "img":
                self.warn(where, _FOREIGN_IMAGE.format(target))
            return {}
        if hash_mark and not path:
            self.jumps.append((fragment, where))
            return {}
        if path and path not in self.resolved:
            self.resolved[path] = self.resolve(path)
        resolved = self.resolved.get(path)
        if resolved is None:
            if tag == "a":
                message = (
                    f"Link „{target}“ zeigt auf nichts "
                    "(keine Datei, keine Seite mit dieser Adresse)"
                )
            else:
                message = f"Bild „{target}“ nicht gefunden"
            near = self.advise(path) if self.advise is not None and path else None
            if near is not None:
                message += f". Meinten Sie „{near}{hash_mark}{fragment}“?"
            self.fail(where, message)
            return {}
        query = path.partition("?")[2]
        if query and "?" not in resolved:
            resolved = f"{resolved}?{query}"
        if tag == "img" and not query and not hash_mark:
            self.images.append(
                BodyImage(
                    resolved,
                    (attrs.get("alt") or "").strip(),
                    (attrs.get("title") or "").strip() or None,
                    (attrs.get("credit") or "").strip() or None,
                    where(),
                )
            )
        return {attr: f"{resolved}#{fragment}" if hash_mark else resolved}

    def check_jumps(self) -> None:
        # At the end: a "#fragment" link may come before the heading it points to.
        for fragment, where in self.jumps:
            if fragment and fragment not in self.ids and unquote(fragment) not in self.ids:
                self.fail(where, f"Sprungmarke „#{fragment}“ gibt es auf dieser Seite nicht")


class _FragmentScanner(HTMLParser):
    """Checks one piece of raw HTML from the Markdown source and rewrites its links.

    Edits splice the original text at the parser's own offsets, so everything else stays
    as the editor wrote it (nh3 normalises it afterwards).
    """

    def __init__(self, doc: _Document, fragment: str) -> None:
        super().__init__(convert_charrefs=True)
        self.doc, self.fragment = doc, fragment
        self.edits: list[tuple[int, int, str]] = []
        self._starts = [0, *(m.end() for m in re.finditer("\n", fragment))]
        self.base_line = cache(self._locate)
        self._iframe_start: int | None = None

    def _locate(self) -> int:
        stripped = self.fragment.lstrip()
        leading_lines = self.fragment[: len(self.fragment) - len(stripped)].count("\n")
        return self.doc.locator.line_of(stripped.partition("\n")[0].rstrip()) - leading_lines

    def _offset(self) -> int:
        lineno, column = self.getpos()
        return self._starts[lineno - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=False)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._start(tag, attrs, closed=True)

    def _start(self, tag: str, attrs: list[tuple[str, str | None]], *, closed: bool) -> None:
        doc = self.doc
        if doc.dropping is not None:  # inside <script>, <svg>, ...: goes with its parent
            name, depth = doc.dropping
            doc.dropping = (name, depth + (tag == name and not closed))
            return
        lineno = self.getpos()[0]
        where = cache(lambda: self.base_line() + lineno - 1)
        values = dict(reversed(attrs))  # the first of duplicate attributes wins, as in browsers
        start, end = self._offset(), self._offset() + len(self.get_starttag_text() or "")
        src = values.get("src") or ""
        if tag == "iframe" and _iframe_host(_clean_url(src)) not in doc.hosts:
            hosts = ", ".join(sorted(doc.hosts)) or "keine"
            doc.warn(
                where,
                f"Unsicheres HTML entfernt: <iframe> mit Quelle „{src}“ "
                f"(erlaubt sind nur https-Adressen dieser Hosts: {hosts})",
            )
            # Cut out here, content included: nh3 cannot allow an element conditionally.
            self.edits.append((start, end, ""))
            if not closed:
                doc.dropping, self._iframe_start = ("iframe", 1), start
        elif tag not in _TAGS and tag != "iframe":
            if tag in _DANGEROUS:
                doc.warn(where, f"Unsicheres HTML entfernt: <{tag}>")
            else:
                doc.warn(where, f"HTML-Element <{tag}> entfernt (nicht erlaubt), der Text bleibt")
            if tag in _DROP_CONTENT and not closed:
                doc.dropping = (tag, 1)
        elif changes := doc.inspect(tag, values, where, from_markdown=False):
            parts = [f"<{tag}"]
            for name, value in attrs:
                value = changes.get(name, value)
                parts.append(f" {name}" if value is None else f' {name}="{escape(value)}"')
            self.edits.append((start, end, "".join([*parts, " />" if closed else ">"])))

    def handle_endtag(self, tag: str) -> None:
        dropping = self.doc.dropping
        if dropping is None or tag != dropping[0]:
            return
        self.doc.dropping = (tag, dropping[1] - 1) if dropping[1] > 1 else None
        if self.doc.dropping is None and self._iframe_start is not None:
            # A refused iframe closed in the same piece: cut through its end tag.
            end = self.fragment.find(">", self._offset()) + 1 or len(self.fragment)
            self.edits[-1], self._iframe_start = (self._iframe_start, end, ""), None

    def rewritten(self) -> str:
        self.close()
        pieces, last = [], 0
        for start, end, text in sorted(self.edits):
            pieces += [self.fragment[last:start], text]
            last = end
        return "".join([*pieces, self.fragment[last:]])


class _Inspector(Treeprocessor):
    """Last tree step: checks every element and raw HTML piece in document order, rewrites
    internal links, shifts headings. Runs after "unescape", so attribute values are final."""

    doc: _Document | None = None  # set by MarkdownRenderer.render for one convert() call

    def run(self, root: Element) -> None:
        assert self.doc is not None, "only MarkdownRenderer.render() converts"
        # The page title is the h1. Editors write "# Abschnitt" as often as "## Abschnitt";
        # moving the body's top level to h2 keeps one h1 per page and an outline without gaps
        # either way, which a fixed toc baselevel cannot do.
        headings = [element for element in root.iter() if element.tag in _HEADINGS]
        shift = 2 - min((int(heading.tag[1]) for heading in headings), default=2)
        for heading in headings:
            heading.tag = f"h{min(6, int(heading.tag[1]) + shift)}"
        self._visit(root, self.doc)
        self.doc.check_jumps()

    def _visit(self, element: Element, doc: _Document) -> None:
        if element.attrib:
            # Automatic mail links hide their address in entities behind AMP_SUBSTITUTE.
            # A word without a value in an attribute list ("{wichtig}") is None since
            # Python-Markdown 3.11.4: reported and removed like any other unknown attribute.
            attrs: dict[str, str | None] = {
                name: unescape(value.replace(AMP_SUBSTITUTE, "&"))
                if value is not None and AMP_SUBSTITUTE in value
                else value
                for name, value in element.attrib.items()
            }
            needle = attrs.get("href", attrs.get("src"))
            as_target = needle is not None
            if needle is None and "lang" in attrs:
                # An attribute list: its line is where the editor wrote the language.
                lang = attrs["lang"]
                needle = doc.locator.present(f'lang="{lang}"', f"lang='{lang}'", f"lang={lang}")
            if needle is None:
                unusual = [name for name in attrs if name not in _GENERIC_ATTRIBUTES]
                needle = unusual[0] if unusual else element.tag
            where = cache(lambda: doc.locator.line_of(needle, as_target=as_target))
            changes = doc.inspect(element.tag, attrs, where, from_markdown=True)
            for name, value in changes.items():
                element.set(name, value)
            if element.tag == "a" and "href" in changes and doc.label is not None:
                _announce_download(element, doc.label(changes["href"]))
        self._raw_html(element.text, doc)
        for child in element:
            self._visit(child, doc)
            self._raw_html(child.tail, doc)

    def _raw_html(self, text: str | None, doc: _Document) -> None:
        if not text or "\x02" not in text:
            return
        stash = self.md.htmlStash.rawHtmlBlocks
        for match in HTML_PLACEHOLDER_RE.finditer(text):
            index = int(match.group(1))
            fragment = stash[index]
            if isinstance(fragment, str) and "<" in fragment:  # entities are stashed too
                scanner = _FragmentScanner(doc, fragment)
                try:
                    scanner.feed(fragment)
                    stash[index] = scanner.rewritten()
                except AssertionError:  # html.parser before 3.13 on e.g. "<![": show it as text
                    doc.warn(scanner.base_line, "HTML nicht lesbar, als Text ausgegeben")
                    stash[index] = escape(fragment)


def _announce_download(link: Element, label: str | None) -> None:
    """ "[Flyer](medien/flyer.pdf)" → "Flyer (PDF, 1,2 MB)", inside the link: its name
    tells what it opens (WCAG 2.4.4)."""
    if label is None:
        return
    last = link[-1] if len(link) else None
    if last is not None:
        last.tail = (last.tail or "") + " "
    else:
        link.text = (link.text or "") + " "
    info = Element("span", {"class": "download-info"})
    info.text = f"({label})"
    link.append(info)


class _Typography(Treeprocessor):
    """German typography on the text of each block, code excluded.

    Replaces Python-Markdown's smarty: its substitutions cannot tell the German closing
    quote ‘ from the apostrophe ’ (Python-Markdown #396), and its pattern-per-pass design
    took 60 % of the render time of a 5 KB page. Quotes are decided with the neighbouring
    characters across inline elements ("**fett**" in quotes); ``typography.smarten`` shares
    the rules.
    """

    def run(self, root: Element) -> None:
        self._block(root)

    def _block(self, block: Element) -> None:
        slots: list[tuple[Element, bool, bool]] = []  # element, its tail?, typeset?

        def collect(element: Element, code: bool) -> None:
            slots.append((element, False, not code))
            for child in element:
                if child.tag in _INLINE:
                    collect(child, code or child.tag == "code")
                else:
                    self._block(child)
                slots.append((child, True, not code))

        collect(block, block.tag == "pre")
        texts = [(element.tail if tail else element.text) or "" for element, tail, _ in slots]
        after, following = [""] * len(texts), ""
        for index in range(len(texts) - 1, -1, -1):
            after[index], following = following, texts[index][:1] or following
        before, open_single = "", 0
        for index, (element, tail, typographic) in enumerate(slots):
            text = texts[index]
            if typographic and text and not isinstance(text, AtomicString):
                text, open_single = typeset(text, before, after[index], open_single)
                if tail:
                    element.tail = text
                else:
                    element.text = text
            before = text[-1:] or before


# nh3's serialiser writes well-formed HTML (attributes double-quoted, "<" escaped in text),
# so a tokenising regex reads it correctly at a fraction of html.parser's cost.
_HTML_TOKEN = re.compile(r'<(/?)([a-z][a-z0-9]*)((?:[^>"]|"[^"]*")*)>|([^<]+)')
_TEXT_BLOCKS = (_TAGS - _INLINE) | {"br", "iframe"}


def _plain_text(html: str) -> tuple[str, str]:
    """(first paragraph, whole text) of sanitised HTML, without footnote numbers and ↩, and
    without the type and size of downloads."""
    parts: list[str] = []
    first_paragraph, paragraph_start, skipping, footnotes = "", -1, 0, 0
    for closing, tag, attrs, text in _HTML_TOKEN.findall(html):
        if not tag:
            parts.append("" if skipping else text)
        elif tag == "span" and (skipping or 'class="download-info"' in attrs):
            # "(PDF, 1,2 MB)" belongs to the link, not to a summary without it.
            skipping += -1 if closing else 1
        elif tag == "a" and (skipping or 'class="footnote-' in attrs):
            skipping += -1 if closing else 1
        elif tag == "div" and (footnotes or 'class="footnote"' in attrs):
            footnotes += -1 if closing else 1
        elif tag == "p" and not footnotes:
            if not closing:
                paragraph_start = len(parts)
            elif paragraph_start >= 0 and not first_paragraph:
                first_paragraph = " ".join(unescape("".join(parts[paragraph_start:])).split())
        if tag in _TEXT_BLOCKS:
            parts.append(" ")
    return first_paragraph, " ".join(unescape("".join(parts)).split())


class MarkdownRenderer:
    """The one configured Markdown pipeline; reuse it for every page of a worker."""

    def __init__(self, *, iframe_hosts: Sequence[str] = ()) -> None:
        self._hosts = frozenset(host.lower() for host in iframe_hosts)
        self._md = markdown.Markdown(
            output_format="html",
            extensions=[
                TableExtension(use_align_attribute=True),  # style="text-align" would be stripped
                FootnoteExtension(BACKLINK_TITLE="Zurück zu Fußnote {} im Text"),
                AttrListExtension(),
                TocExtension(slugify=slugify, permalink=False, marker=""),  # heading ids only
                SaneListExtension(),
            ],
        )
        bound_scans(self._md)  # hostile bodies must not take quadratic time (issue 7)
        spans.register(self._md)  # [Living Lab]{lang=en}
        self._md.ESCAPED_CHARS.extend(['"', "'"])  # \" keeps a straight quote
        self._md.treeprocessors.register(_Typography(self._md), "kldigital-typography", 6)
        self._inspector = _Inspector(self._md)
        # Priority -1: after "unescape" (0), the last step that changes the tree.
        self._md.treeprocessors.register(self._inspector, "kldigital-inspector", -1)
        inline.accelerate(self._md)  # the same HTML, a third less time (markdown/inline.py)
        tags = _TAGS | ({"iframe"} if self._hosts else set())
        self._sanitise = partial(
            nh3.clean,
            tags=set(tags),
            clean_content_tags=set(_DROP_CONTENT | ({"iframe"} - tags)),
            attributes={"*": set(_GENERIC_ATTRIBUTES)}
            | {tag: set(names) for tag, names in _TAG_ATTRIBUTES.items() if tag in tags},
            attribute_filter=self._filter_attribute if self._hosts else None,
            url_schemes=set(_SCHEMES),
            strip_comments=True,  # editors' notes, not content: removed without a warning
            link_rel=None,  # deterministic; browsers imply noopener, and target is not allowed
        )

    def _filter_attribute(self, tag: str, name: str, value: str) -> str | None:
        # Second line of defence behind _FragmentScanner, which removes refused iframes whole.
        if tag == "iframe" and name == "src" and _iframe_host(_clean_url(value)) not in self._hosts:
            return None
        return value

    def render(
        self,
        source: str,
        *,
        path: str,
        first_line: int,
        resolve_link: LinkResolver,
        download_label: DownloadLabel | None = None,
        advise_link: LinkAdvice | None = None,
    ) -> RenderedMarkdown:
        doc = _Document(
            source, path, first_line, resolve_link, self._hosts, download_label, advise_link
        )
        # Python-Markdown has no per-call context for processors; like its own extensions
        # (footnotes, toc) the state lives on the instance for one convert() and is cleared.
        self._inspector.doc = doc
        try:
            html = self._md.convert(source)
        except RecursionError:
            # Python-Markdown recurses once per nesting level (lists in lists ...): hundreds
            # of levels are junk, and they must fail as the editor's error, not a traceback.
            message = "Der Text ist zu tief verschachtelt (Listen oder Zitate in Hunderten Ebenen)."
            return RenderedMarkdown("", "", "", (), (SiteError(path, first_line, message),))
        finally:
            self._inspector.doc = None
            self._md.reset()
        # Empty paragraphs are what is left where removed raw HTML stood.
        html = _align_as_class(_EMPTY_PARAGRAPH.sub("", self._sanitise(html)))
        if self._hosts and "<iframe" in html:
            # An iframe's content is raw text that browsers never show; keeping it would leave
            # unescaped markup for the next HTML parser (feed readers, search indexers).
            html = _IFRAME_CONTENT.sub(r"\1</iframe>", html)
        first_paragraph, plain_text = _plain_text(html)
        return RenderedMarkdown(
            html=html,
            first_paragraph=first_paragraph,
            plain_text=plain_text,
            links=tuple(doc.resolved),
            problems=tuple(sorted(doc.problems, key=lambda problem: problem.line)),
            images=tuple(doc.images),
        )


_CELL_TAG = re.compile(r"<(th|td)((?: [^>]*)?)>")
_ALIGN = re.compile(r' align="(left|right|center)"')
_CLASS = re.compile(r' class="([^"]*)"')


def _align_as_class(html: str) -> str:
    """Table cells: align="right" → class="align-right".

    HTML5 made the align attribute obsolete (the Nu checker warns), and a style
    attribute would break the Content-Security-Policy; the theme styles the classes.
    """
    if " align=" not in html:
        return html

    def cell(match: re.Match[str]) -> str:
        tag, attributes = match[1], match[2]
        align = _ALIGN.search(attributes)
        if align is None:
            return match[0]
        attributes = _ALIGN.sub("", attributes)
        existing = _CLASS.search(attributes)
        if existing is None:
            return f'<{tag}{attributes} class="align-{align[1]}">'
        merged = f' class="{existing[1]} align-{align[1]}"'
        return f"<{tag}{attributes[: existing.start()]}{merged}{attributes[existing.end() :]}>"

    return _CELL_TAG.sub(cell, html)
