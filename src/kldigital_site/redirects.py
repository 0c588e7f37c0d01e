"""Old addresses that keep working: a document's ``aliases:`` (spec "Redirects").

Input: the documents' ``aliases`` (content/schema.py keeps each entry with its
line) and the routes of the model. Output: the form problem of an alias (for
content/parse.py), the ``SiteError``s of aliases that clash with the site or
with each other, and one ``RouteKind.REDIRECT`` route per alias of a published
item, plus the two server rule files (render/redirects.py writes them all).

Journalists, the city's portal and other sites link to releases for years;
when a slug or a file name changes, the old path goes into ``aliases:``. An
alias is a site path without the base path (``/presse/alter-name/``), so the
same content works at the root of a host and under a sub-path.

Paths without a final slash: ``/alt/seite.html`` (or ``.htm``) is a file, and
its redirect page is written at exactly that path, as a static server serves
it as HTML; any other (``/presse/alter-name``) means the folder, as the site's
own addresses do: the page goes to ``presse/alter-name/index.html`` and the
server rules redirect both spellings. A redirect page at ``.php`` or ``.pdf``
would be served with the wrong type; the server rules alone cannot be the
answer there either, since many hosts give no way to load them, so such
paths are refused (issue 14).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from kldigital_site.errors import SiteError

if TYPE_CHECKING:  # content/parse.py asks this module about an alias's form
    from kldigital_site.content.parse import Document

SERVER_DIR = "_server"  # server rules, deployed with the site, never served (docs/deployment.md)
NGINX_RULES_FILE = f"{SERVER_DIR}/redirects.nginx.conf"
APACHE_RULES_FILE = f"{SERVER_DIR}/redirects.apache.conf"
# Folders the tool fills itself: an alias there would be overwritten or never served.
_RESERVED_FOLDERS = ("assets/", "medien/", "pagefind/", "admin/", f"{SERVER_DIR}/")
# What an alias may consist of once %-escapes are decoded: letters and digits of any
# script (German sites' old addresses often have umlauts: /bürgerservice/) and . _ ~ + -
# between slashes, which need no quoting in an nginx location, an Apache regular
# expression or a file name. Servers compare the decoded path byte for byte, so the
# rules and the redirect page's folder name carry the letters as UTF-8 (issue 14).
_ALIAS_PUNCTUATION = frozenset("._~+/-")
_FILE_SUFFIXES = (".html", ".htm")
EXAMPLE = "/presse/alter-name/"


@dataclass(frozen=True, slots=True)
class Alias:
    """One old address of a document, as the site serves it."""

    url: str  # site path without the leading slash: "presse/alter-name/" or "alt/seite.html"
    line: int  # of the entry in the front matter

    @property
    def output_path(self) -> str:
        return self.url + "index.html" if self.url.endswith("/") else self.url


def form_problem(written: str) -> str | None:
    """What is wrong with an alias as written, or None (German, for editors)."""
    if "://" in written or written.startswith("//"):
        return (
            f"„{written}“ ist eine Adresse mit Rechnername; ein alter Pfad dieser Website "
            f"beginnt mit /, z. B. {EXAMPLE}"
        )
    if not written.startswith("/"):
        return f"„{written}“ muss mit / beginnen (ein Pfad dieser Website), z. B. {EXAMPLE}"
    if "?" in written or "#" in written:
        return f"„{written}“: ohne ?… und #…, nur der Pfad, z. B. {EXAMPLE}"
    decoded = unquote(written)
    segments = decoded.strip("/").split("/")
    if decoded == "/":
        return "„/“ ist die Startseite; sie kann nicht umgeleitet werden."
    if any(segment in ("", ".", "..") for segment in segments):
        return f"„{written}“: Teile wie //, ./ oder ../ sind nicht erlaubt."
    if not all(char.isalnum() or char in _ALIAS_PUNCTUATION for char in decoded):
        return (
            f"„{written}“ enthält Zeichen, die eine Weiterleitung nicht kann; "
            "erlaubt sind Buchstaben (auch ä, ö, ü, ß), Ziffern und - _ . ~ +"
        )
    last = segments[-1]
    if not decoded.endswith("/") and "." in last and not last.endswith(_FILE_SUFFIXES):
        return (
            f"„{written}“: Weiterleitungen gehen von Ordnern (…/) und .html-Seiten aus, "
            f"nicht von .{last.rsplit('.', 1)[1]}-Dateien."
        )
    return None


def alias_url(written: str) -> str:
    """The site path (no leading slash) of the redirect page of a well-formed alias."""
    path = unquote(written).lstrip("/")
    if path.endswith("/") or path.endswith(_FILE_SUFFIXES):
        return path
    return path + "/"


def aliases_of(doc: Document) -> list[Alias]:
    """The well-formed aliases of ``doc`` (the others are errors of content/parse.py)."""
    entries: Sequence[Mapping[str, Any]] = doc.meta.get("aliases") or ()
    return [
        Alias(alias_url(entry["path"]), entry["line"])
        for entry in entries
        if form_problem(entry["path"]) is None
    ]


def check_aliases(
    documents: Iterable[Document],
    own_urls: Mapping[str, str],
    taken: Mapping[str, str],
) -> list[SiteError]:
    """Aliases that cannot redirect: the document's own address, an address or file
    of the site (``taken``: output path → what makes it), a folder the tool fills,
    or one that two documents (or one twice) name.

    ``documents`` are all of them, drafts and embargoed ones included: their
    aliases must not clash either once they are published. ``own_urls``: the
    address of each document (by content path).
    """
    errors: list[SiteError] = []
    claims: dict[str, list[tuple[Document, Alias]]] = defaultdict(list)
    for doc in documents:
        for alias in aliases_of(doc):
            problem = _clash(alias, own_urls.get(doc.content_path), taken)
            if problem is not None:
                errors.append(SiteError(doc.rel_path, alias.line, f"„aliases“: {problem}"))
                continue
            claims[alias.url].append((doc, alias))
    for url, claimants in sorted(claims.items()):
        for number, (doc, alias) in enumerate(claimants):
            others = sorted({d.rel_path for d, _ in claimants if d.rel_path != doc.rel_path})
            if others:
                message = f"den alten Pfad „/{url}“ nennt auch: {', '.join(others)}."
            elif any(d is doc for d, _ in claimants[:number]):
                message = f"„/{url}“ steht schon weiter oben in der Liste."
            else:
                continue
            errors.append(SiteError(doc.rel_path, alias.line, f"„aliases“: {message}"))
    return errors


def _clash(alias: Alias, own_url: str | None, taken: Mapping[str, str]) -> str | None:
    shown = "/" + alias.url
    if alias.url == own_url:
        return f"„{shown}“ ist die Adresse dieser Seite selbst; als alter Pfad bitte entfernen."
    if alias.url.startswith(_RESERVED_FOLDERS):
        return f"„{shown}“ liegt in einem Ordner, den kldigital-site selbst füllt."
    owner = taken.get(alias.output_path) or taken.get(alias.url.rstrip("/"))
    if owner is not None:
        return f"„{shown}“ ist schon eine Adresse der Website ({owner}); sie bleibt, wie sie ist."
    if alias.output_path.rsplit("/", 1)[0] in taken:
        return f"„{shown}“ liegt unter einer Datei der Website."
    return None
