"""The command line's short way for an edit of Markdown files (issue 15).

Input: what a build read (build.py ``_Inputs``), the cache and the writer; later the
model, bodies, images and theme files the build made from them. Output: the pages
that read what changed rendered into the writer, the search shards they lie in
indexed again, every other published file kept as it is (``Edited``) — or None, and
the build goes the whole way (render/pages.py over every route).

The preview has this way in memory for bodies (resident_build.py ``save_bodies``); a
build from the command line has only the cache. When the Markdown files whose
documents the cache holds at other digests are the only inputs that differ from those
the last build recorded (``edit_candidate``: its key of every input, "now", the
published tree), a page can differ from the published one only where its record says
it read something that changed (``_changes``, the same decision the whole way makes in
render/pages.py ``_changed_reads``):
- the model made from them is the last one but for the bodies (the pages' model key,
  which counts every front matter and the images): only the body signatures that
  changed ("body:<key>", "summary:<key>", render/pages.py ``body_signatures``);
- or it differs in what is shown of some items alone, not where they stand (the
  frame key, with the model's ``structure_digest``: every address, date, topic, list
  order; and no item the part every page shows looks up): those items' reads too
  ("head:<key>", "summary:<key>", "body:<key>", and "head:*" of a view over all
  items). A title change thus renders the item's pages and the lists, topics,
  projects and feeds that show it. Generated files keep no record: made from the
  model, they are all made again then (a redirect page shows its item's title).
Those pages are rendered, with the generated files that may show a body (the press
feed), the edited items' own pages first, as soon as the bodies are known
(``_render_edited``: the search's head start goes on with their shard meanwhile, or
from the parsed edit on where it was handed a guess of their search text,
``offer_guesses``); the search shards whose pages now read differently are indexed
again, each whole: its other pages are read from the output folder as published (a
whole build reads them from staging, build.py ``_render_pages``); the other 50,000
files are carried over in one step (``TreeWriter.add_unchanged``). A whole build at 10,000
items decodes 30,000 page records, examines as many routes and adds each file on its
own to find the same. The stages before rendering run as in every build, so every
warning and error is the whole build's; an error, a template failure, --strict,
``check``, a moved item or a theme file or image not as published go the whole way.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from kldigital_site.build import (
    BuildOptions,
    _environment,
    _frame_key,
    _Inputs,
    _key,
    _Pages,
    _pages_key,
    _recorded_build,
    _same_inputs,
    _unchanged,
    _untemplated_key,
)
from kldigital_site.cache import BuildCache, PageRecord
from kldigital_site.config import SiteConfig
from kldigital_site.content.parse import Document
from kldigital_site.model import Route, RouteKind, Site, structure_digest
from kldigital_site.output import Output, TreeWriter
from kldigital_site.search.shards import BUNDLE_DIR, INDEXED_KINDS, SHARD_PREFIX

if TYPE_CHECKING:
    from kldigital_site.markdown.bodies import Bodies
    from kldigital_site.media.pipeline import Media
    from kldigital_site.render.pages import PageResult
    from kldigital_site.render.templates import RecordingEnvironment
    from kldigital_site.search.head_start import HeadStart
    from kldigital_site.search.indexer import SearchIndexer


@dataclass(slots=True)
class Edit:
    """Markdown files changed since the last build, and nothing else (``edit_candidate``)."""

    last: Mapping[str, Any]  # the last build's record (``BuildCache.last_build``)
    key: str  # the inputs' key with the changed files as the last build read them
    files: frozenset[str]  # the changed files (``SourceFile.rel_path``)
    # The last build read them with these digests (the cache's documents of them), and
    # parsed a few of them into these documents (``_last_documents``).
    before: Mapping[str, str] = dataclasses.field(default_factory=dict)
    documents: Mapping[str, Document] = dataclasses.field(default_factory=dict)
    # The model's ``structure_digest``, once ``publish_edit`` has worked it out: the whole
    # way after a front-matter edit that moved an item needs it too (build.py).
    structure: str | None = None


def edit_candidate(
    config: SiteConfig, inputs: _Inputs, cache: BuildCache, options: BuildOptions
) -> Edit | None:
    """The Markdown files changed since the last build, if those may be all that changed.

    A changed file's digest at the last build is that of its cached document (parsing
    stores it): the inputs with those digests in place of the new ones must be exactly
    what the last build recorded, with "now" in its window (build.py ``_same_inputs``).
    A document the cache holds of another state (a failed build's) gives another key:
    the whole way. Whether the published tree is as the last build left it is asked
    once the model is known to allow the short way (``publish_edit``): an edit that
    moves an item need not pay for it.
    """
    if inputs.last is None or options.strict or not options.search_index:
        return None
    known = cache.document_digests()
    before = {
        path: known[path]
        for path, digest in inputs.digests.items()
        if path in known and known[path] != digest
    }
    if not before:
        return None
    key = _key(config, inputs.theme, *sorted({**inputs.digests, **before}.items()))
    if not _same_inputs(inputs.last, key, options.now):
        return None
    return Edit(inputs.last, key, frozenset(before), before, _last_documents(cache, before))


def _last_documents(cache: BuildCache, before: Mapping[str, str]) -> dict[str, Document]:
    """The edited files' documents as the last build parsed them, read before parsing
    stores the new ones; none for more files than the search's head start takes (their
    pages get no guess then, ``offer_guesses``)."""
    from kldigital_site.search.head_start import MAX_EDITED

    if len(before) > MAX_EDITED:
        return {}
    documents = {}
    for path, digest in before.items():
        doc = cache.cached_document(path)
        if doc is not None and doc.digest == digest:
            documents[path] = doc
    return documents


def _title_changed(last: Document, doc: Document) -> bool | None:
    """Whether the edit from ``last`` to ``doc`` changed the title; None where it changed
    anything else before the body (its page may show it, and no guess is made)."""
    if last.head_digest == doc.head_digest:
        return False
    if last.kind is not doc.kind or last.slug != doc.slug:
        return None
    keys = last.meta.keys() | doc.meta.keys()
    changed = {key for key in keys if last.meta.get(key) != doc.meta.get(key)}
    return True if changed == {"title"} else None


def offer_guesses(
    edit: Edit,
    documents: Sequence[Document],
    raws: Mapping[str, bytes],
    config: SiteConfig,
    cache: BuildCache,
    head_start: HeadStart,
) -> None:
    """Hand the search's head start a guess of the search text of each page that showed an
    edited body, for the files whose edit left everything before the body as it was but
    the title (search/guess.py): it goes on with their shards while the model is built,
    instead of waiting until the pages have rendered."""
    from kldigital_site.content.parse import load_body
    from kldigital_site.markdown.bodies import document_body_key
    from kldigital_site.search.guess import LastBody, guess_pages

    for doc in documents:
        before, last = edit.before.get(doc.rel_path), edit.documents.get(doc.rel_path)
        title_changed = _title_changed(last, doc) if last is not None else None
        if before is None or last is None or title_changed is None:
            continue
        readers = head_start.readers(doc.content_path)
        raw = raws.get(doc.rel_path)
        if not readers or (doc.body is None and raw is None):
            continue
        key = document_body_key(config, doc.rel_path, before)
        html = cache.body(key)
        summary = cache.body_summaries([key]).get(key)
        if html is None or summary is None:
            continue
        guessed = guess_pages(
            load_body(doc, raw or b""),
            path=doc.rel_path,
            first_line=doc.body_line,
            last=LastBody(html, summary),
            titles=(last.meta["title"], doc.meta["title"]) if title_changed else None,
            readers=readers,
            published=head_start.published,
            iframe_hosts=config.iframe_hosts,
            minify=config.minify,
        )
        for page in guessed:
            head_start.offer(page.path, page.digest, page.text)


@dataclass(slots=True)
class Edited:
    """The pages of an edit rendered into the writer and the search fed (``publish_edit``);
    ``add_rest`` adds the rest of the site."""

    inputs: _Inputs  # ``previous``: the last records of the pages rendered
    pages: _Pages  # ``records``: those of the pages rendered
    writer: TreeWriter
    indexer: SearchIndexer
    shards: frozenset[int]  # indexed again

    def add_rest(self) -> None:
        """Every other published file as it is, and the bundles of the shards indexed
        again in place of theirs (``SearchIndexer.finish``)."""
        from kldigital_site.search.indexer import Kept

        writer, published = self.writer, self.writer.previous_digests
        # The bundles' files first, by a prefix test of each path: the shard of each of
        # 67,000 paths was 40 ms at 10,000 items (issue 15).
        bundles = [path for path in published if path.startswith(_BUNDLES)]
        dropped = [path for path in bundles if _bundle_shard(path) in self.shards]
        writer.add_unchanged(dropped)
        # While Pagefind indexes, as build.py ``_add_files`` does.
        writer.find_foreign()
        for bundle_file in self.indexer.finish(published):
            if isinstance(bundle_file, Kept):
                writer.add(bundle_file.path, digest=bundle_file.digest)
            else:
                writer.add_output(bundle_file)


def publish_edit(
    edit: Edit,
    site: Site,
    bodies: Bodies,
    images: Media,
    beside: Sequence[Output],
    documents: list[Document],
    inputs: _Inputs,
    writer: TreeWriter,
    indexer: SearchIndexer,
    cache: BuildCache,
    options: BuildOptions,
) -> Edited | None:
    """Render the pages that read what ``edit`` changed into ``writer`` and feed the
    search shards they lie in to ``indexer``, which starts (module docstring); None,
    with nothing added or indexed, when the model differs from the last one in more
    than bodies and what is shown of some items (``_changes``), a file ``beside`` the
    pages (theme files, /admin/) or an image is not as published, or a page fails."""
    from kldigital_site.precompress import add_siblings
    from kldigital_site.render.pages import render_pages

    env = _environment(site, inputs.theme, None, cache)
    published = writer.previous_digests
    # The search's head start waits for the edited pages: they go first (``_render_edited``)
    # and are not rendered again below.
    early = _render_edited(edit, site, bodies, images, env, inputs, cache, published, options)
    for first in early.values():
        _offer(indexer, first)
    changes = _changes(edit, site, bodies, images, documents, inputs)
    if changes is None:
        return None
    # The published tree as the last build left it, its search index complete.
    if not _unchanged(dataclasses.replace(inputs, key=edit.key), writer, options):
        return None
    if not _as_published(beside, images, published):
        return None
    pages = changes.pages
    readers = cache.pages_reading(inputs.target_key, changes.reads)
    # Generated files have no record: after a front-matter change, which changed the
    # model they are made from, all are made again, as in the whole way (a redirect
    # page shows its item's title).
    routes = _routes(site, readers, every_generated=pages.model_key != edit.last.get("model"))
    # Every page but the generated files has its record: one that has none (a name the
    # cache could not store, a row lost) could read the edit unseen.
    if routes is None or cache.page_count(inputs.target_key) != routes.recorded:
        return None
    rest = render_pages(
        site,
        bodies,
        env,
        previous=readers,
        on_disk=published,
        jobs=options.jobs,
        media=images,
        precompress=options.precompress,
        routes=[route for route in routes.to_render if route.output_path not in early],
        templates=inputs.templates,
    )
    results = []
    for route in routes.to_render:
        result = early.get(route.output_path)
        if result is None:
            result = next(rest)
            # The search's head start goes on with its shard at once (search/head_start.py).
            _offer(indexer, result)
        results.append(result)
    # Run to its end, which closes the pool of workers it may have started.
    leftover = next(rest, None)
    assert leftover is None, "a page beyond the routes given"
    if any(result.problems for result in results):
        return None  # reported by the whole way, which renders them again
    shards = _changed_shards(results, readers, indexer)
    rendered = {result.path for result in results}
    others = [path for path in indexer.pages_in(shards) if path not in rendered]
    records = cache.page_records(inputs.target_key, others)
    if len(records) != len(others) or any(
        not record.search or published.get(path) != record.digest
        for path, record in records.items()
    ):
        return None

    # The edit goes the short way. Pagefind starts first, on the pages as published
    # (the output folder changes only when the new tree is swapped in, after the index is
    # done) and the new bytes of those rendered: it then works while the writer
    # prepares staging and looks for the user's files, half a second each at 10,000
    # items, where the whole build renders.
    out_dir = writer.out_dir
    for result in results:
        record = result.record
        if record is None or indexer.shard_of_page(result.path) not in shards:
            continue
        page = result.data if result.data is not None else (out_dir / result.path).read_bytes
        indexer.expect(result.path, record.search, page)
    for path, record in records.items():
        indexer.expect(path, record.search, (out_dir / path).read_bytes)
    indexer.seal()
    pages.records = dict(readers)
    for result in results:
        pages.count(result)
        writer.add(result.path, digest=result.digest, data=result.data)
        if options.precompress:
            add_siblings(writer, result.path, result.data, result.siblings)
    pages.html_pages = routes.html_pages
    previous = dataclasses.replace(inputs, previous=readers)
    return Edited(previous, pages, writer, indexer, frozenset(shards))


def _render_edited(
    edit: Edit,
    site: Site,
    bodies: Bodies,
    images: Media,
    env: RecordingEnvironment,
    inputs: _Inputs,
    cache: BuildCache,
    published: Mapping[str, str],
    options: BuildOptions,
) -> dict[str, PageResult]:
    """The detail pages of the edited items, by output path, rendered as ``publish_edit``
    renders them: each against its record of the last build, the one ``pages_reading``
    gives it there (the same table, and nothing is written before the commit).

    Rendered as soon as the bodies are known, before ``_changes``, the published
    tree's check and the search for the pages that read what changed (~130 ms at
    10,000 items): the search's head start has fed Pagefind the shard's pages up to
    the edited page by then and waits for it, and Pagefind's work on the rest of the
    shard and its write was the longest part of what the build waited for at its end
    (issue 15). A page the edit turns out not to change, or an edit that goes the
    whole way, has cost its render (a few ms).
    """
    from kldigital_site.render.pages import render_pages
    from kldigital_site.search.head_start import MAX_EDITED

    if len(edit.files) > MAX_EDITED:
        return {}
    keys = {key for key, item in site.items.items() if item.doc.rel_path in edit.files}
    routes = [route for route in site.routes if route.item in keys and route.kind in INDEXED_KINDS]
    if not routes:
        return {}
    rendered = render_pages(
        site,
        bodies,
        env,
        previous=cache.page_records(inputs.target_key, [route.output_path for route in routes]),
        on_disk=published,
        jobs=1,
        media=images,
        precompress=options.precompress,
        routes=routes,
        templates=inputs.templates,
    )
    return {result.path: result for result in rendered}


def _offer(indexer: SearchIndexer, result: PageResult) -> None:
    """A page rendered before the shards to index are known, for the search's head start."""
    if result.record is not None and result.data is not None:
        indexer.offer(result.path, result.record.search, result.data)


@dataclass(frozen=True, slots=True)
class _Changes:
    """What an edit changed of what the pages read (``_changes``)."""

    reads: set[str]  # the names a page that may differ read (render/pages.py ``_reads``)
    pages: _Pages  # what the cache records of this build but the page records


def _changes(
    edit: Edit,
    site: Site,
    bodies: Bodies,
    images: Media,
    documents: list[Document],
    inputs: _Inputs,
) -> _Changes | None:
    """What pages can read that differs from the last build: the bodies' signatures that
    changed and, where front matter changed, the items whose front matter did; None when
    the model differs in more than that (render/pages.py ``_changed_reads``: another
    frame — an item moved in a list, got another date, address or topic — or an item the
    part every page shows looks up). The same decision as the whole way's, made from the
    last build's record instead of its 30,000 page records."""
    from kldigital_site.media.pipeline import media_fingerprint
    from kldigital_site.render.pages import _changed_reads, body_signatures
    from kldigital_site.render.views import Views

    last = _recorded_build(edit.last)
    if last is None:
        return None
    pages = _Pages(
        model_key=_pages_key(site, inputs, documents, images),
        signatures=body_signatures(bodies, last=last.body_signatures),
        heads={key: item.doc.head_digest for key, item in site.items.items()},
        templates=inputs.templates,
    )
    if pages.model_key == last.model_key:
        pages.frame_key, pages.structure = last.frame_key, last.structure
        pages.untemplated_key = last.untemplated_key
    else:
        shown = media_fingerprint(images)
        pages.structure = edit.structure = structure_digest(site)
        pages.frame_key = _frame_key(
            site, inputs.theme, inputs.digests, documents, shown, pages.structure
        )
        pages.untemplated_key = _untemplated_key(site, inputs, documents, shown)
    reads = _changed_reads(
        pages.model_key,
        pages.signatures,
        last,
        pages.frame_key,
        pages.heads,
        lambda: Views(site, bodies, images).site_reads(),
    )
    return None if reads is None else _Changes(reads, pages)


class _Routes(NamedTuple):
    """The routes an edit renders (``_routes``), and what a whole build counts of all."""

    to_render: list[Route]  # in the order render/pages.py renders them
    recorded: int  # routes that leave a page record: all but the generated files
    html_pages: int  # HTML pages but redirects (``BuildResult.pages``)


def _routes(site: Site, readers: Collection[str], *, every_generated: bool) -> _Routes | None:
    """The pages at ``readers`` and the generated files (``every_generated``: all, else
    those that may show a body, resident.py ``_FROM_MODEL_ALONE``), in one pass over the
    30,000 routes of 10,000 items; None when a reader is no route of the site."""
    from kldigital_site.render.pages import render_order
    from kldigital_site.resident import _FROM_MODEL_ALONE

    wanted = set(readers)
    found: list[Route] = []
    recorded = html = 0
    for route in site.routes:
        kind, path = route.kind, route.output_path
        generated = kind.is_generated_file
        recorded += not generated
        html += path.endswith(".html") and kind is not RouteKind.REDIRECT
        if path in wanted:
            wanted.discard(path)
            found.append(route)
        elif generated and (every_generated or kind not in _FROM_MODEL_ALONE):
            found.append(route)
    if wanted:
        return None
    return _Routes(render_order(found), recorded, html)


def _as_published(beside: Sequence[Output], images: Media, published: Mapping[str, str]) -> bool:
    """Every file beside the pages, and every image, is published as this build makes it."""
    from kldigital_site.output import file_digest

    for output in beside:
        if output.data is not None:
            digest = hashlib.sha256(output.data).hexdigest()
        elif output.source is not None:
            digest = file_digest(output.source)
        else:
            return False
        if published.get(output.path) != digest:
            return False
    return all(published.get(image.path) == image.digest for image in images.files)


def _changed_shards(
    results: Collection[PageResult],
    readers: Mapping[str, PageRecord],
    indexer: SearchIndexer,
) -> set[int]:
    """The shards of the search pages rendered whose searched text changed."""
    shards = set()
    for result in results:
        number = indexer.shard_of_page(result.path)
        before = readers.get(result.path)
        if number is None or result.record is None:
            continue
        if before is None or before.search != result.record.search:
            shards.add(number)
    return shards


_BUNDLES = f"{BUNDLE_DIR}/"


def _bundle_shard(path: str) -> int | None:
    """The shard whose bundle holds the published file ``path``; None outside the bundles."""
    if not path.startswith(_BUNDLES):
        return None
    rest = path[len(_BUNDLES) :]
    if rest.startswith(SHARD_PREFIX) and "/" in rest:
        number = rest[len(SHARD_PREFIX) : rest.index("/")]
        return int(number) if number.isdigit() else None
    return 0
