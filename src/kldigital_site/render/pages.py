"""Render every route, skipping those whose inputs did not change.

Input: ``Site``, ``Bodies``, the Jinja environment, what the previous build
recorded per output file (``PageRecord``: fingerprint, templates loaded,
digest) and the digests of the files now in the output folder. Output: one
``PageResult`` per route, detail pages first (``_render_rank``) — new bytes, or "unchanged" with
the digest of the file that stays, or the problems of its template.

A page's fingerprint hashes the data its template receives (the view, with
bodies represented by their cache keys) plus every template file it loaded
last time, recorded through the Jinja environment rather than declared by hand
(Lektor ``_load_template``). A title change therefore re-renders exactly the
pages that show that title; a template change exactly the pages that loaded
it. The newsroom's files (render/newsroom.py) are fingerprinted the same way,
their view standing in for the template context. Cold builds fan out over
``--jobs`` forked processes.

Making 10,000 views only to find them unchanged costs seconds, so there is a
shortcut for the edit editors make most: text only. Views are a function of
the model and the bodies; the model follows from everything but the bodies
(``model_key``: front matter, data, settings, templates, publication state).
When that key equals the last build's, only bodies can differ, and a page
whose recorded body reads (``views.fingerprint``: its own text, the summaries
on its cards, a boilerplate) all have the signatures of the last build keeps its
file without its view being made at all.

The same holds for front matter when only what is shown of some items changed
(a title, a description), not where they stand: the frame of the model
(build.py ``_frame_key``) is the last build's, and a page that looked up none
of the edited items ("head:<key>" reads, recorded by ``Views.recording``) keeps
its file. A title change thus makes the views of the item's own pages and of
the lists, topics and projects that show it, not of 30,000 pages.

And for templates (``_template_change``): when the model differs from the last
build's in template files only, a page whose recorded templates are all as they
were keeps its file without its view; one that loaded a changed file renders
again. A change to base.html thus leaves the 20,000 newsroom files of 10,000
items alone, which load no base.html.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from kldigital_site.cache import PageRecord
from kldigital_site.errors import SiteError
from kldigital_site.markdown.bodies import Bodies, BodyInfo
from kldigital_site.media.pipeline import Media
from kldigital_site.model import Route, RouteKind, Site
from kldigital_site.precompress import Sibling, siblings
from kldigital_site.render import feeds
from kldigital_site.render.assets import template_digests
from kldigital_site.render.contexts import page_context
from kldigital_site.render.minify import minify_page
from kldigital_site.render.newsroom import press_text, render_newsroom_file
from kldigital_site.render.redirects import render_redirect_file
from kldigital_site.render.templates import (
    ASSET_RECORD,
    TEMPLATES,
    RecordingEnvironment,
    render_template,
)
from kldigital_site.render.views import ANY_HEAD, HEAD, Views, fingerprint
from kldigital_site.search.extract import search_digest
from kldigital_site.search.shards import INDEXED_KINDS
from kldigital_site.workers import run_parallel

_REDIRECT_FILES = frozenset({RouteKind.REDIRECT, RouteKind.NGINX_RULES, RouteKind.APACHE_RULES})
# The routes that show the whole body of their item (``_prefetch_bodies``).
_READS_ITS_BODY = frozenset(
    {
        RouteKind.PROJECT,
        RouteKind.PRESS_RELEASE,
        RouteKind.PAGE,
        RouteKind.PRESS_TEXT,
        RouteKind.PRESS_EMAIL,
    }
)


class PageResult(NamedTuple):
    """One route's outcome. A named tuple, not a frozen dataclass: an edit build at
    10,000 items makes 30,000 of them, mostly for kept pages, and a dataclass's
    ``__init__`` took four times as long (issue 15)."""

    path: str
    digest: str
    data: bytes | None  # None: unchanged, the file of the previous build stays
    record: PageRecord | None
    problems: tuple[SiteError, ...] = ()  # its template failed: no bytes, no record
    examined: bool = True  # its view was made (False: kept by the text-only shortcut)
    is_redirect: bool = False  # the page at an old address: not counted as a page
    siblings: tuple[Sibling, ...] | None = None  # .gz and .br of new bytes (precompress.py)
    # Rendered again to the very bytes published: ``data`` is None, the file stays.
    same_bytes: bool = False


@dataclass(slots=True)
class _State:
    site: Site
    views: Views
    env: RecordingEnvironment
    previous: Mapping[str, PageRecord]
    on_disk: Mapping[str, str]  # output path → digest of the file there now
    template_digests: Mapping[str, str]
    salt: str
    precompress: bool = False
    # The plain text of the release last made, by its view's JSON: its .txt and .eml
    # routes follow each other and show the same text (render/newsroom.py).
    release_text: tuple[str, str] = ("", "")


@dataclass(frozen=True, slots=True)
class LastBuild:
    """What the previous build of this output was made from (``body_signatures``)."""

    model_key: str
    body_signatures: Mapping[str, str]
    # Everything the model follows from but the items' front matter, and per item the
    # digest of its front matter ("head:<key>" reads, ``Views.recording``).
    frame_key: str = ""
    heads: Mapping[str, str] = field(default_factory=dict)
    # The model key as if the templates were those of that build (``_template_change``),
    # and the digest of every template file then, by name.
    untemplated_key: str = ""
    templates: Mapping[str, str] = field(default_factory=dict)
    # The model's ``structure_digest`` (part of ``frame_key``), kept for a build whose
    # model differs in its templates alone (build.py ``_render_pages``).
    structure: str = ""


def body_signatures(
    bodies: Bodies,
    summaries: dict[str, tuple[str, str]] | None = None,
    *,
    last: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """What a view can read of each body: its rendered version ("body:…",
    "boilerplate:…") and, apart, its first paragraph, the summary on its cards
    ("summary:…"), so that a new last paragraph touches only the page itself.

    ``summaries``: the digests of the first paragraphs of a build before (by body
    key: the paragraph and its digest), used where the paragraph is the same and
    brought up to date; the preview keeps them (resident.py), a tenth of a save's
    rebuild at 10,000 items. ``last``: the signatures of the last build
    (``LastBuild.body_signatures``): a body of the version it had there (the same
    text, file and settings, its links resolved the same) has the same first
    paragraph, so the digest of that is taken as it was, not worked out again for
    each of 10,000 bodies in an edit build (edit_build.py, issue 15)."""
    signatures: dict[str, str] = {}
    memo: dict[str, tuple[str, str]] = summaries if summaries is not None else {}
    for key, info in bodies.items.items():
        if last is not None:
            body, summary = f"body:{key}", f"summary:{key}"
            version, digest = info.version, last.get(summary)
            if digest is not None and last.get(body) == version:
                signatures[body] = version
                signatures[summary] = digest
                continue
        signatures.update(item_signatures(key, info, memo))
    for gone in memo.keys() - bodies.items.keys() if len(memo) > len(bodies.items) else ():
        del memo[gone]
    for name, info in bodies.boilerplates.items():
        signatures[f"boilerplate:{name}"] = info.version
    return signatures


def item_signatures(
    key: str, info: BodyInfo, summaries: dict[str, tuple[str, str]]
) -> tuple[tuple[str, str], tuple[str, str]]:
    """The two signatures of the body of item ``key`` (``body_signatures``), its first
    paragraph's digest taken from ``summaries`` where the paragraph is the same."""
    known = summaries.get(key)
    if known is None or known[0] != info.first_paragraph:
        digest = hashlib.sha256(info.first_paragraph.encode()).hexdigest()
        known = summaries[key] = (info.first_paragraph, digest)
    return (f"body:{key}", info.version), (f"summary:{key}", known[1])


def _fingerprint(state: _State, context_json: str, templates: tuple[str, ...]) -> str:
    digest = hashlib.sha256(state.salt.encode())
    digest.update(context_json.encode())
    for name in sorted(templates):
        digest.update(f"\0{name}:{state.template_digests.get(name, 'missing')}".encode())
    return digest.hexdigest()


def _render_route(state: _State, route: Route) -> PageResult:
    path = route.output_path
    if route.kind.is_generated_file:
        # Cheap to make, so they are always made; only new bytes count as rendered.
        data = (
            render_redirect_file(route, state.site)
            if route.kind in _REDIRECT_FILES
            else feeds.render_generated_file(route.kind, state.site, state.views)
        )
        digest = hashlib.sha256(data).hexdigest()
        unchanged = state.on_disk.get(path) == digest
        return PageResult(
            path,
            digest,
            None if unchanged else data,
            None,
            # Made from the model alone, no view: a body edit "examines" none of them.
            examined=route.kind not in _REDIRECT_FILES,
            is_redirect=route.kind is RouteKind.REDIRECT,
            siblings=None if unchanged else _siblings(state, path, data),
        )
    with state.views.recording() as items_read:
        context = page_context(state.views, route)
    context_json, bodies_read = fingerprint(context)
    reads = _reads(bodies_read, items_read)
    previous = state.previous.get(path)
    if (
        previous is not None
        and state.on_disk.get(path) == previous.digest
        and _fingerprint(state, context_json, previous.templates) == previous.fingerprint
    ):
        return PageResult(
            path,
            previous.digest,
            None,
            PageRecord(
                previous.fingerprint, previous.templates, previous.digest, reads, previous.search
            ),
        )
    # Jinja loads templates (and their includes) deep inside its own code, which takes no
    # argument of ours to record them in: the environment's loader notes them while
    # this one page renders (render/templates.py).
    state.env.recorded = set()
    try:
        if route.kind.is_newsroom_file:
            problems: list[SiteError] = []

            def render_html(name: str, variables: dict[str, Any]) -> str:
                staged = render_template(state.env, name, variables)
                problems.extend(staged.problems)
                return staged.value or ""

            def release_text(release: Mapping[str, Any]) -> str:
                if state.release_text[0] != context_json:
                    state.release_text = (context_json, press_text(release))
                return state.release_text[1]

            data = render_newsroom_file(route.kind, context, render_html, release_text)
            if problems:
                return PageResult(path, "", None, None, tuple(problems))
        else:
            html = render_template(state.env, TEMPLATES[route.kind], context)
            if html.value is None:
                return PageResult(path, "", None, None, html.problems)
            # In the worker that rendered it: minifying is about a tenth of a render.
            text = minify_page(html.value) if state.site.config.minify else html.value
            data = text.encode("utf-8")
    finally:
        recorded = tuple(sorted(state.env.recorded or ()))
        state.env.recorded = None
    digest = hashlib.sha256(data).hexdigest()
    # Worked out here, where the bytes are at hand, for every page the search may index:
    # a page kept by a later build keeps its record, and the search its key (search/extract.py).
    if route.kind not in INDEXED_KINDS:
        searched = ""
    elif previous is not None and previous.digest == digest and previous.search:
        # The very bytes the last build made (a template change that leaves the page as
        # it was): what the search reads of them too. A tenth of a page's render.
        searched = previous.search
    else:
        searched = search_digest(data)
    record = PageRecord(
        _fingerprint(state, context_json, recorded), recorded, digest, reads, searched
    )
    # The same bytes as the file published (a template change that leaves this page as it
    # was, such as a comment that minifying drops): the file and its siblings stay, not
    # compressed again (precompress.add_siblings), and the bytes are not sent back from
    # the worker, 130 MB at 10,000 items.
    if state.on_disk.get(path) == digest:
        return PageResult(path, digest, None, record, same_bytes=True)
    return PageResult(path, digest, data, record, siblings=_siblings(state, path, data))


def _prefetch_bodies(state: _State, routes: Sequence[Route]) -> None:
    """Read the bodies of the items of a chunk of ``routes`` in one query (workers.py).

    A body read alone was a query and a read transaction of its own, about five times
    the share of the query in a batch while the main process writes to the database: 2.5
    CPU-s of the workers' 33 in a cold build at 10,000 items. Only for the pages certain
    to render (no page of theirs in the output as the last build recorded it): an edit
    build that examines 30,000 pages and keeps most of them reads no body it would not
    have read anyway."""
    items = state.views.bodies.items
    keys = []
    for route in routes:
        key = route.item
        if key is None or route.kind not in _READS_ITS_BODY or key not in items:
            continue
        previous = state.previous.get(route.output_path)
        if previous is None or state.on_disk.get(route.output_path) != previous.digest:
            keys.append(items[key].key)
    state.views.bodies.store.prefetch(dict.fromkeys(keys))


def _siblings(state: _State, path: str, data: bytes) -> tuple[Sibling, ...] | None:
    # Here, in the worker process: compressing 10,000 pages is seconds of CPU.
    return siblings(path, data) if state.precompress else None


def render_pages(
    site: Site,
    bodies: Bodies,
    env: RecordingEnvironment,
    *,
    previous: Mapping[str, PageRecord],
    on_disk: Mapping[str, str],
    jobs: int,
    progress: Callable[[int, int], None] | None = None,
    model_key: str = "",
    signatures: Mapping[str, str] | None = None,
    last: LastBuild | None = None,
    frame_key: str = "",
    heads: Mapping[str, str] | None = None,
    only_items: frozenset[str] | None = None,
    media: Media | None = None,
    precompress: bool = False,
    announce: Callable[[Mapping[str, PageRecord]], None] | None = None,
    routes: Sequence[Route] | None = None,
    untemplated_key: str = "",
    templates: Mapping[str, str] | None = None,
) -> Iterator[PageResult]:
    """A ``PageResult`` for every route: the pages the search indexes first, then the
    items' other files, then the rest (``_render_rank``), in each of them those rendered
    and then those kept, each in route order. ``announce`` hears of the kept ones (path →
    record) before any page renders.

    The search index is built from the detail pages in a process of its own
    (search/indexer.py) once the last of them has come: it then works while the
    newsroom files and the lists render.
    ``last`` and this build's ``body_signatures`` enable the text-only shortcut
    (module docstring), ``untemplated_key`` the template shortcut (``_template_change``);
    ``templates``: the digest of every template file now, by name (read here if not
    given). ``only_items``: render only the pages of these items.
    ``routes``: exactly these, in this order, each examined (the preview's save of a few
    bodies, build.py, which knows the pages that show them).
    """
    if templates is None:
        templates = template_digests(site.config.templates_dir)
    state = _State(
        site=site,
        views=Views(site, bodies, media),
        env=env,
        previous=previous,
        on_disk=on_disk,
        # A page that names a theme file through asset() records it like a template:
        # its hashed name stands in for its digest.
        template_digests={
            **templates,
            **{ASSET_RECORD + name: path for name, path in site.assets.items()},
        },
        salt=site.config.fingerprint(),
        precompress=precompress,
    )
    chosen = list(routes) if routes is not None else site.routes
    if only_items is not None:
        chosen = [route for route in chosen if route.item in only_items]
    # Each route's rank and output path worked out once: 30,000 routes at 10,000 items,
    # each looked at four times by an edit build (issue 15).
    ordered = sorted(
        ((_render_rank(route), route.output_path, route) for route in chosen),
        key=lambda entry: entry[0],
    )
    changed = _changed_reads(model_key, signatures, last, frame_key, heads, state.views.site_reads)
    changed_templates: frozenset[str] = frozenset()
    if changed is None:
        template_change = _template_change(untemplated_key, templates, signatures, last)
        if template_change is not None:
            changed, changed_templates = template_change
    kept = _unchanged_routes(ordered, previous, on_disk, changed)
    if changed_templates:
        kept = {p: r for p, r in kept.items() if changed_templates.isdisjoint(r.templates)}
    # Within each rank those to render first, then those kept, which ``announce`` has
    # told of before: the search index then has every page once the last changed
    # detail page has come, not after a loop over 10,000 kept ones (issue 15).
    if kept:
        ordered.sort(key=lambda entry: (entry[0], entry[1] in kept))
    to_render = [route for _, path, route in ordered if path not in kept]
    if announce is not None:
        announce(kept)
    rendered = run_parallel(_render_route, state, to_render, jobs, prepare=_prefetch_bodies)
    total = len(ordered)
    for done, (_, path, _route) in enumerate(ordered, 1):
        record = kept.get(path)
        result = (
            PageResult(path, record.digest, None, record, examined=False)
            if record is not None
            else next(rendered)
        )
        if progress is not None:
            progress(done, total)
        yield result


def render_order(routes: Sequence[Route]) -> list[Route]:
    """``routes`` (in route order) in the order ``render_pages`` renders them."""
    return sorted(routes, key=_render_rank)


def _render_rank(route: Route) -> int:
    """Detail pages (what the search indexes) 0, the items' other files 1, the rest 2.

    The newsroom files (.eml, .txt, .vcf, feeds) took half of the render's CPU
    time at 1,000 items: rendered after the pages, they give Pagefind that much
    to overlap with, not only the lists."""
    if route.item is None:
        return 2
    return 0 if route.kind in INDEXED_KINDS else 1


def _reads(bodies_read: tuple[str, ...], items_read: set[str]) -> tuple[str, ...]:
    """What a page's record keeps of its reads: an item looked up ("head:<key>") is left
    out where the page also shows its card or body ("summary:<key>", "body:<key>"),
    which an edit of that item counts as changed too (``_changed_reads``). Most lookups
    are of that kind, and each name kept is one more in each of 30,000 records."""
    names = {*bodies_read, *items_read}
    for name in items_read:
        if name.startswith(HEAD):
            key = name[len(HEAD) :]
            if f"summary:{key}" in names or f"body:{key}" in names:
                names.discard(name)
    return tuple(sorted(names))


def _changed_reads(
    model_key: str,
    signatures: Mapping[str, str] | None,
    last: LastBuild | None,
    frame_key: str,
    heads: Mapping[str, str] | None,
    site_reads: Callable[[], frozenset[str]],
) -> set[str] | None:
    """What a view can read that differs from the last build; None: anything may.

    The same model: only bodies (module docstring). Otherwise the same frame —
    the settings, templates, data files, images and the site's whole structure
    (which items exist, their addresses, dates, topics, every list's order):
    only the front matter of some items differs, and with it what pages show of
    them ("head:<key>", its card "summary:<key>", its body "body:<key>" (``_reads``),
    and "head:*" for a view over all items). An item the part every page shows
    looks up (``site_reads``: a menu page) examines every page.
    """
    if last is None or signatures is None or not model_key:
        return None
    changed = _changed_signatures(signatures, last)
    if last.model_key == model_key:
        return changed
    if heads is None or not frame_key or last.frame_key != frame_key:
        return None
    edited = {key for key, head in heads.items() if last.heads.get(key) != head}
    edited |= set(last.heads) - set(heads)
    if not edited:
        return changed
    names = {f"{kind}{key}" for key in edited for kind in (HEAD, "summary:", "body:")}
    if not names.isdisjoint(site_reads()):
        return None
    return changed | names | {ANY_HEAD}


def _changed_signatures(signatures: Mapping[str, str], last: LastBuild) -> set[str]:
    """The body signatures (``body_signatures``) that differ from the last build's."""
    changed = {name for name, sig in signatures.items() if last.body_signatures.get(name) != sig}
    changed |= set(last.body_signatures) - set(signatures)
    return changed


def _template_change(
    untemplated_key: str,
    templates: Mapping[str, str],
    signatures: Mapping[str, str] | None,
    last: LastBuild | None,
) -> tuple[set[str], frozenset[str]] | None:
    """The bodies and template files that differ from the last build, when nothing else
    the model follows from does (``untemplated_key``: the model key with the template
    files left out); None otherwise.

    A page shows a template file only through Jinja, which records every file a render
    loads (render/templates.py: extended, included, imported, and the candidates it
    tried and did not find). A page whose recorded templates are all as they were and
    whose bodies did not change is then the page it was: it keeps its file without its
    view, as the 20,000 newsroom files at 10,000 items do when base.html changes (issue
    15). A page that loaded a changed, new or deleted file renders again, and records
    what it loads now. Names are compared as ``template_digests`` gives them: a missing
    file has no digest, so a file added under a name a page tried counts as changed.
    """
    if (
        last is None
        or signatures is None
        or not untemplated_key
        or last.untemplated_key != untemplated_key
        or not last.templates
    ):
        return None
    before = last.templates
    names = frozenset(
        name for name in before.keys() | templates.keys() if before.get(name) != templates.get(name)
    )
    return _changed_signatures(signatures, last), names


def _unchanged_routes(
    routes: list[tuple[int, str, Route]],
    previous: Mapping[str, PageRecord],
    on_disk: Mapping[str, str],
    changed: set[str] | None,
) -> dict[str, PageRecord]:
    """Pages certain to be unchanged without making their views (``_changed_reads``);
    ``routes``: each with its rank and output path (``render_pages``)."""
    if changed is None:
        return {}
    kept = {}
    for _, path, route in routes:
        record = previous.get(path)
        if (
            not route.kind.is_generated_file
            and record is not None
            and on_disk.get(path) == record.digest
            and changed.isdisjoint(record.reads)
        ):
            kept[path] = record
    return kept
