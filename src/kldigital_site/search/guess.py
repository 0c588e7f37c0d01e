"""The search text of a page whose body or title was edited, guessed once the edit is parsed.

Input: the edited Markdown file's body as it is now, the HTML and the cached summary
its body had at the last build, its title before and after where only that changed in
the front matter, the pages that showed the body then (output path → the digest of what
the search read of them, ``PageRecord.search``) and the published folder (edit_build.py
``offer_guesses`` gathers them). Output: for each of those pages whose search text
can be guessed, its output path, the digest of the guessed text and the text itself as
search/extract.py ``search_extract`` makes it: what ``HeadStart.offer`` takes.

Why (issue 15): the search's head start (search/head_start.py) feeds the shard of an
edited page up to that page while the build parses, then waits for the page to render:
after the model, the bodies and the page's route, about 1.3 s into a body edit at
10,000 items. Only then could it feed the shard's later pages and have Pagefind write
the bundle, about 0.5 s that were the end of the build. When only the body (or the
title) changed, though, the page's search text is the published one with the new body
in place of the old: the body is rendered here with the addresses its links led to at
the last build, and the minifier writes a body alone exactly as it writes it inside its
page (so it did for every one of the 10,000 detail pages of the benchmark corpus), so
both bodies can be found and put in as the page holds them; a title likewise, as the
whole text of an element, escaped as Jinja prints it. With the guess the head start
goes on during the model, and the bundle is written by the time the page has rendered.

Only a guess: the head start feeds it as the page it stands for, and the search indexer
compares the digests of the pages fed with those of the pages rendered
(search/indexer.py ``_go_on``), so a wrong guess costs the shard's index made afresh,
never a wrong bundle. Hence no guess where it may well be wrong: any other change before
the body (the date, the topics …: edit_build.py ``offer_guesses``), a link the old body
did not have, an image (it becomes a <picture> once the media are known), an error in
the new body, an old body or title not found exactly once in the page's search text, a
page not as its record says.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from markupsafe import escape

from kldigital_site.markdown.renderer import MarkdownRenderer
from kldigital_site.render.minify import minify_page
from kldigital_site.search.extract import search_extract
from kldigital_site.typography import smarten


class GuessedPage(NamedTuple):
    """A page's search text as it will most likely be: what ``HeadStart.offer`` takes."""

    path: str  # output path
    digest: str  # of ``text``, as ``search_digest`` gives it
    text: bytes  # as ``search_extract`` makes it


class LastBody(NamedTuple):
    """The edited body as the last build rendered it (``BuildCache.body`` and
    ``body_summaries`` of its key)."""

    html: str
    summary: Mapping[str, Any]


def guess_pages(
    body: str,
    *,
    path: str,
    first_line: int,
    last: LastBody,
    titles: tuple[str, str] | None,
    readers: Mapping[str, str],
    published: Path,
    iframe_hosts: tuple[str, ...],
    minify: bool,
) -> list[GuessedPage]:
    """The search texts of the pages ``readers`` (output path → search digest at the last
    build) with ``body`` (of the file ``path``, from line ``first_line``) in place of the
    one ``last`` was made from, and the second of ``titles`` (as in the front matter) in
    place of the first; only the pages where that guess holds up (module docstring)."""
    html = _rendered_again(body, path, first_line, last.summary, iframe_hosts)
    if html is None:
        return []
    as_shown: Callable[[str], str] = minify_page if minify else _unchanged
    changes = [(as_shown(last.html).encode("utf-8"), as_shown(html).encode("utf-8"))]
    if titles is not None:
        # A title is an element's whole text, escaped as Jinja prints it.
        old_title, new_title = (as_shown(escape(smarten(t))).encode("utf-8") for t in titles)
        changes.append((b">" + old_title + b"<", b">" + new_title + b"<"))
    return list(_guessed(changes, readers, published))


def _rendered_again(
    body: str,
    path: str,
    first_line: int,
    summary: Mapping[str, Any],
    iframe_hosts: tuple[str, ...],
) -> str | None:
    """``body`` rendered with the links the last one resolved; None where it has one the
    last did not, an image or an error."""
    resolved, downloads = summary.get("resolved"), summary.get("downloads", {})
    if not isinstance(resolved, dict) or not isinstance(downloads, dict):
        return None
    labels = {resolved.get(target): label for target, label in downloads.items()}

    def resolve(target: str) -> str | None:
        # A target the last body did not have resolves to nothing: a broken link's error.
        url = resolved.get(target)
        return url if isinstance(url, str) else None

    renderer = MarkdownRenderer(iframe_hosts=iframe_hosts)
    rendered = renderer.render(
        body, path=path, first_line=first_line, resolve_link=resolve, download_label=labels.get
    )
    if rendered.images or any(problem.is_error for problem in rendered.problems):
        return None
    return rendered.html


def _guessed(
    changes: list[tuple[bytes, bytes]], readers: Mapping[str, str], published: Path
) -> Iterator[GuessedPage]:
    for path, digest in sorted(readers.items()):
        try:
            guess = search_extract((published / path).read_bytes())
        except OSError:
            continue
        if hashlib.sha256(guess).hexdigest() != digest:
            continue
        for old, new in changes:
            if guess.count(old) != 1:
                break
            guess = guess.replace(old, new)
        else:
            # Fed as the page it stands for: reduced again, it must stay what it is.
            if search_extract(guess) == guess:
                yield GuessedPage(path, hashlib.sha256(guess).hexdigest(), guess)


def _unchanged(html: str) -> str:
    return html
