"""The newsroom's files for journalists: a release as text and as e-mail, contact cards.

Input: the view of one newsroom route (``render/contexts.py``: what the file
shows, nothing else, so it is re-made exactly when that changes) and, for the
e-mail's HTML part, a function that renders a template. Output: the file's
bytes, the same bytes for the same view:

- ``pressemitteilung.txt``: headline, sub-headline, dateline and body as plain
  text (render/plaintext.py), Presseabbinder, press contacts, photo credits,
  the release's address; UTF-8, lines ending in LF.
- ``pressemitteilung.eml``: a MIME message with subject, date (the release's),
  sender (the first press contact) and no recipients, a text/plain part (the
  text above) and a text/html part (the template ``newsroom/email.html``),
  both quoted-printable, under a fixed boundary. ``X-Unsent: 1`` makes Outlook
  open it as a draft, ready for the distribution list. The fixed frame is
  written here, the parts' encoding by render/quoted_printable.py; the headers
  with editors' text come from Python's ``email`` package where it does more
  than write them as they are (tests/test_newsroom.py holds the result to what
  ``EmailMessage`` writes for the same message).
- ``<id>.vcf``: a vCard 3.0 (RFC 2426; wider client support than 4.0, Outlook
  and older address books included) with name, organisation, role, e-mail,
  phone and address.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from urllib.parse import urljoin

from markupsafe import Markup

from kldigital_site.model import RouteKind
from kldigital_site.render.feeds import atom_from_view
from kldigital_site.render.plaintext import html_to_text
from kldigital_site.render.quoted_printable import encode_text

RenderHtml = Callable[[str, dict[str, Any]], str]
EMAIL_TEMPLATE = "newsroom/email.html"
# "=_" cannot occur in quoted-printable text (a literal "=" is written "=3D"), so this
# boundary never collides with the parts; fixed, so the same release gives the same bytes.
EMAIL_BOUNDARY = "=_kldigital-pressemitteilung_="
_BOUNDARY = EMAIL_BOUNDARY.encode("ascii")
_POSTCODE_TOWN = re.compile(r"(\d{4,5})\s+(.+)")
# An address the e-mail package accepts as a sender; anything else is left out.
_ADDRESS = re.compile(r"[^@\s<>()\[\]\\,;:\"]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# The e-mail package's SMTP policy folds header lines longer than this (RFC 5322 2.1.1):
# its ``max_line_length``. The package itself is imported where an e-mail is written: it
# costs a command-line build ~12 ms, and an edit of a project or a page writes none
# (issue 15).
HEADER_LINE_LIMIT = 78
# A date as ``format_datetime`` writes it with a whole-minute offset (or "-0000").
_RFC_DATE = re.compile(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}")
_SITE_LINK = re.compile(r'(\s(?:href|src)=")([^"#][^"]*)(")')


def render_newsroom_file(
    kind: RouteKind,
    view: Mapping[str, Any],
    render_html: RenderHtml,
    release_text: Callable[[Mapping[str, Any]], str] | None = None,
) -> bytes:
    """The bytes of a route whose ``kind.is_newsroom_file``, from its view.
    ``release_text``: ``press_text``, or a memo of it (the .txt and .eml show the same)."""
    release_text = release_text or press_text
    if kind is RouteKind.PRESS_TEXT:
        return release_text(view["release"]).encode("utf-8")
    if kind is RouteKind.PRESS_EMAIL:
        return press_email(view["release"], render_html, release_text(view["release"]))
    if kind is RouteKind.CONTACT_CARD:
        return vcard(view["contact"])
    return atom_from_view(view["feed"])


# --- text ----------------------------------------------------------------------------


def press_text(release: Mapping[str, Any]) -> str:
    base_url = release["base_url"]
    blocks = [release["title"]]
    if release["subtitle"]:
        blocks[0] += "\n" + release["subtitle"]
    body = html_to_text(str(release["body_html"]), base_url)
    # The dateline opens the first paragraph, as in every printed release.
    if body:
        body[0] = f"{release['dateline']} {body[0]}"
    else:
        body = [release["dateline"]]
    blocks += body
    if release["boilerplate_html"] is not None:
        blocks += ["Presseabbinder", *_boilerplate_text(str(release["boilerplate_html"]), base_url)]
    if release["contacts"]:
        blocks.append("Pressekontakt")
        blocks += ["\n".join(contact_lines(c)) for c in release["contacts"]]
    if release["photo_credits"] or release["photos_zip_url"]:
        blocks.append("Fotos")
        lines = list(release["photo_credits"])
        if release["photos_zip_url"]:
            lines.append(f"Alle Pressefotos (ZIP): {release['photos_zip_url']}")
        blocks.append("\n".join(lines))
    blocks.append(f"Diese Pressemitteilung im Netz:\n{release['absolute_url']}")
    return "\n\n".join(blocks) + "\n"


@functools.lru_cache(maxsize=16)
def _boilerplate_text(html: str, base_url: str) -> tuple[str, ...]:
    # A site has a few boilerplates, each shown under hundreds of releases.
    return tuple(html_to_text(html, base_url))


def contact_lines(contact: Mapping[str, Any]) -> list[str]:
    lines = [contact["name"]]
    lines += [contact[key] for key in ("role", "organisation") if contact[key]]
    lines += contact["address"]
    if contact["email"]:
        lines.append(f"E-Mail: {contact['email']}")
    if contact["phone"]:
        lines.append(f"Telefon: {contact['phone']}")
    return lines


# --- e-mail --------------------------------------------------------------------------


def absolute_links(html: str, base_url: str) -> Markup:
    """Every href and src of site HTML made absolute: a mail client has no site to resolve
    them against (in-page jumps, "#…", stay)."""
    # What ``_SITE_LINK.sub`` over the whole text would do, the pattern tried only where
    # an attribute's value begins: a search for it starts a match at each space, three
    # quarters of the cost for one or two links a body.
    pieces: list[str] = []
    done = 0  # the end of the last link replaced: a match cannot start before it
    at = html.find('="')
    while at >= 0:
        if html.startswith("href", at - 4):
            start = at - 5
        elif html.startswith("src", at - 3):
            start = at - 4
        else:
            start = -1
        if start >= done:  # and so not before the text's start (startswith(x, -4)…)
            match = _SITE_LINK.match(html, start)
            if match is not None:
                pieces += (html[done:start], match[1], _absolute(base_url, match[2]), match[3])
                done = match.end()
        at = html.find('="', at + 2)
    pieces.append(html[done:])
    return Markup("".join(pieces))


@functools.lru_cache(maxsize=4096)
def _absolute(base_url: str, href: str) -> str:
    # Bodies link the same pages (projects, the city's site) again and again.
    return urljoin(base_url, href)


@functools.lru_cache(maxsize=16)
def _absolute_boilerplate(html: str, base_url: str) -> Markup:
    # A site has a few boilerplates, each shown under hundreds of releases.
    return absolute_links(html, base_url)


def press_email(release: Mapping[str, Any], render_html: RenderHtml, text: str) -> bytes:
    """The release as a draft e-mail; ``text`` is its plain text (``press_text``), made
    once for this file and the .txt beside it."""
    base_url = release["base_url"]
    html = render_html(
        EMAIL_TEMPLATE,
        {
            "release": {
                **release,
                "body_html": absolute_links(str(release["body_html"]), base_url),
                "boilerplate_html": _absolute_boilerplate(
                    str(release["boilerplate_html"]), base_url
                )
                if release["boilerplate_html"] is not None
                else None,
            }
        },
    )
    # The fixed structure written out directly: building it as an EmailMessage parsed and
    # refolded each of its 15 headers through the header registry, 4.6 ms a release. The
    # headers that carry editors' text still go through the e-mail package (_header)
    # where it would do more than write them as they are.
    from email.utils import formataddr  # imported here: see HEADER_LINE_LIMIT

    sender = next((c for c in release["contacts"] if _ADDRESS.fullmatch(c["email"] or "")), None)
    head = [
        _header("From", formataddr((_one_line(sender["name"]), sender["email"])))
        if sender is not None
        else b"",
        _unstructured_header("Subject", _one_line(release["title"])),
        _date_header(release["date"]),
        b"X-Unsent: 1\r\nMIME-Version: 1.0\r\n",
        b'Content-Type: multipart/alternative; boundary="' + _BOUNDARY + b'"\r\n',
        _header("Content-Language", release["language"]),
    ]
    return b"".join(
        (
            *head,
            b"\r\n--" + _BOUNDARY + b"\r\n",
            _text_part("plain", text),
            b"\r\n--" + _BOUNDARY + b"\r\n",
            _text_part("html", html),
            b"\r\n--" + _BOUNDARY + b"--\r\n",
        )
    )


@functools.lru_cache(maxsize=256)
def _header(name: str, value: str) -> bytes:
    """One header line as the e-mail package writes it: non-ASCII words as RFC 2047
    encoded-words, folded at 78 characters. Memoised: most releases share their sender."""
    from email.policy import SMTP  # imported here: see HEADER_LINE_LIMIT

    return SMTP.fold_binary(name, SMTP.header_store_parse(name, value)[1])


def _unstructured_header(name: str, value: str) -> bytes:
    """``_header(name, value)`` for a header of free text (Subject), ``value`` on one line.
    An ASCII value that fits on the header's line, with no "=?" that could open an
    encoded-word, is written as it is: the e-mail package would split it into words
    and spaces and join them again, 0.05 ms a release."""
    if (
        value
        and value.isascii()
        and "=?" not in value
        and len(name) + 2 + len(value) <= HEADER_LINE_LIMIT
    ):
        return f"{name}: {value}\r\n".encode("ascii")
    return _header(name, value)


def _date_header(date: dt.datetime) -> bytes:
    """``_header("Date", format_datetime(date))``: the e-mail package reads the date back
    (``parsedate_to_datetime``) and writes it again, the same text for a four-digit
    offset and a year it reads as written (two digits would be taken as 19xx/20xx)."""
    from email.utils import format_datetime  # imported here: see HEADER_LINE_LIMIT

    value = format_datetime(date)
    if date.year >= 100 and _RFC_DATE.fullmatch(value):
        return f"Date: {value}\r\n".encode("ascii")
    return _header("Date", value)


def _text_part(subtype: str, text: str) -> bytes:
    """A text/* part in UTF-8, quoted-printable, as ``EmailMessage.set_content`` encodes
    it: lines ending in CRLF, none longer than 76 characters (RFC 2045 6.7)."""
    return (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'.encode("ascii")
        + b"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        + encode_text(text)
    )


def _one_line(text: str) -> str:
    # A header is one line: a title written as a YAML block keeps its line breaks.
    return " ".join(text.split())


# --- vCard ---------------------------------------------------------------------------


def vcard(contact: Mapping[str, Any]) -> bytes:
    name = contact["name"]
    prefixes, given, family = _name_parts(name)
    lines = [
        "BEGIN:VCARD",
        "VERSION:3.0",
        "N:" + ";".join(_escape(part) for part in (family, given, "", prefixes, "")),
        f"FN:{_escape(name)}",
    ]
    if contact["organisation"]:
        lines.append(f"ORG:{_escape(contact['organisation'])}")
    if contact["role"]:
        lines.append(f"TITLE:{_escape(contact['role'])}")
    if contact["email"]:
        lines.append(f"EMAIL;TYPE=INTERNET,WORK:{_escape(contact['email'])}")
    if contact["phone"]:
        lines.append(f"TEL;TYPE=WORK,VOICE:{_escape(contact['phone'])}")
    if contact["address"]:
        lines.append("ADR;TYPE=WORK:" + ";".join(_escape(p) for p in _address(contact["address"])))
    lines.append("END:VCARD")
    return "".join(_fold(line) + "\r\n" for line in lines).encode("utf-8")


def _name_parts(name: str) -> tuple[str, str, str]:
    """("Dr.", "Martin", "Verlage") from "Dr. Martin Verlage": titles end in a dot."""
    words = name.split()
    titles = []
    while len(words) > 1 and words[0].endswith("."):
        titles.append(words.pop(0))
    return " ".join(titles), " ".join(words[:-1]), words[-1] if words else ""


def _address(lines: Sequence[str]) -> tuple[str, ...]:
    """The ADR components (post box, extended, street, town, region, postcode, country)."""
    street, town, postcode = list(lines), "", ""
    if street:
        match = _POSTCODE_TOWN.fullmatch(street[-1].strip())
        if match:
            street.pop()
            postcode, town = match[1], match[2]
    return ("", "", ", ".join(street), town, "", postcode, "")


def _escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def _fold(line: str) -> str:
    """Lines of at most 75 octets, continued after CRLF + space, never inside a UTF-8
    character (RFC 2425 5.8.1)."""
    parts: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append(current)
            current, size, limit = "", 0, 74  # the leading space counts
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)
