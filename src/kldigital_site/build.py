"""The only module that knows the order of the stages (MkDocs ``commands/build.py``).

Input: ``SiteConfig`` and ``BuildOptions`` (the time that counts as "now", the
output folder, write or only check, jobs, strictness). Output: ``BuildResult``
or ``BuildFailed`` with every error of the build. Each stage returns
``Staged(value, problems)`` and one ``errors.Problems`` log collects them.
Every stage runs even after another found errors — files with errors count as
existing but make no page (model.py) — so an editor learns of every schema,
reference, link and template error in one run; ``Problems.go_on()`` then
decides, once, whether anything is written. Gather everything, then write:
nothing reaches the output folder until the whole site has rendered without an
error, and then all of it at once (``output.TreeWriter``). ``check`` also
checks drafts and embargoed releases (``_check_unpublished``).

Incremental builds: the model is always rebuilt whole from all documents —
cheap, and where staleness bugs would otherwise come from. Only parsing (by
content hash), Markdown (by body and link targets) and rendering (by page
fingerprint, or by the text-only shortcut of render/pages.py) are skipped when their
inputs are unchanged. When no input changed at all (``_same_inputs``), the
build ends before parsing: there is no model to rebuild. The preview, one
long-running process, keeps the last model and reuses it when only bodies changed
since, under a key of everything else the model follows from (resident.py); a save
of bodies only goes a shorter way still, rendering and publishing just the pages
that read them (resident_build.py).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import os
import shutil
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kldigital_site.cache import CACHE_DIR_NAME, BuildCache, PageRecord, tool_fingerprint
from kldigital_site.config import SiteConfig
from kldigital_site.content.discover import SourceFile, SourceKind, discover
from kldigital_site.content.parse import (
    CHANGED_DURING_BUILD,
    DataFile,
    Document,
    digest_of,
    parse_source,
)
from kldigital_site.errors import (
    BuildFailed,
    Problems,
    Severity,
    SiteError,
    Staged,
    os_problem,
    os_reason,
)
from kldigital_site.lock import OnWait, site_lock
from kldigital_site.model import LeftOut, Site, build_site, structure_digest
from kldigital_site.output import (
    Output,
    TreeMemory,
    TreeWriter,
    WriteReport,
    file_digest,
)
from kldigital_site.output import tree_key as tree_key  # where resident_build looks for it
from kldigital_site.render.assets import ASSETS_DIR, asset_files, template_digests
from kldigital_site.search.shards import BUNDLE_DIR
from kldigital_site.workers import default_jobs, run_parallel

# The stages after parsing are imported where they run: a build that finds nothing
# changed (``_unchanged``) needs none of them, and loading them (Jinja, Markdown,
# Pagefind, minify_html, brotli) was a third of its time at 10,000 items (issue 15).
if TYPE_CHECKING:
    from kldigital_site.edit_build import Edit, Edited
    from kldigital_site.markdown.bodies import Bodies
    from kldigital_site.media.pipeline import Media
    from kldigital_site.render.assets import ThemeAssets
    from kldigital_site.render.compiled import CompiledTemplates
    from kldigital_site.render.pages import LastBuild, PageResult
    from kldigital_site.render.templates import RecordingEnvironment
    from kldigital_site.resident import Kept, Resident
    from kldigital_site.search import indexer as search
    from kldigital_site.search.head_start import HeadStart

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class BuildOptions:
    """How to build: everything but the settings (``SiteConfig``) and the cache."""

    now: dt.datetime  # what counts as "now" for embargoes
    target: Path  # the output folder
    jobs: int
    write: bool = True  # False: `check`, which writes nothing, not even the cache
    strict: bool = False  # warnings fail the build
    search_index: bool = True  # False: keep the previous search index as it is
    progress: Progress | None = None
    precompress: bool = True  # .gz and .br beside text files (precompress.py); serve: False
    # Told as soon as the new tree is in place, before the cache records it: the preview
    # lets its tabs reload then (serve/server.py).
    on_published: Callable[[WriteReport], None] | None = None


@dataclass(frozen=True, slots=True)
class BuildResult:
    site: Site | None  # None: nothing changed since the last build, no model was made
    pages: int
    report: WriteReport | None
    warnings: list[SiteError]
    rendered: frozenset[str] = frozenset()  # output paths rendered in this build
    examined: frozenset[str] = frozenset()  # output paths whose views were made
    timings: dict[str, float] = field(default_factory=dict)
    next_change: dt.datetime | None = None  # when an embargo ends (``Site.next_change``)
    left_out: LeftOut = field(default_factory=LeftOut)  # drafts and embargoes not published
    decoded: frozenset[str] = frozenset()  # images whose pixels were decoded (media/)
    # The work the cache did not save: files parsed, Markdown bodies rendered (item keys and
    # boilerplate ids), search shards run through Pagefind. A cache restored by a CI
    # from another checkout must keep these to what changed (docs/deployment.md).
    parsed: frozenset[str] = frozenset()  # site-relative paths
    bodies_rendered: frozenset[str] = frozenset()
    search_indexed: tuple[int, ...] = ()


def build(
    config: SiteConfig,
    *,
    now: dt.datetime,
    write: bool = True,
    strict: bool = False,
    out_dir: Path | None = None,
    jobs: int | None = None,
    use_cache: bool = True,
    progress: Progress | None = None,
    search_index: bool = True,
    on_wait: OnWait | None = None,
    resident: Resident | None = None,
    precompress: bool = True,
    changed: Collection[Path] | None = None,
    on_published: Callable[[WriteReport], None] | None = None,
) -> BuildResult:
    """Build the site. ``search_index=False`` keeps the previous search index as it is
    (the dev server rebuilds it a moment after the page has reloaded). A build that
    writes holds the site's lock (lock.py); ``on_wait`` hears of another one first.
    ``resident``: what the same process's last build of this output left in memory;
    ``changed``: the paths changed since that build, as a watcher saw them (None: unknown).
    ``on_published``: called with the report once the output folder holds the new site,
    before the cache records it (a build that writes nothing never calls it)."""
    options = BuildOptions(
        now=now,
        target=out_dir or config.output_dir,
        jobs=jobs or default_jobs(),
        write=write,
        strict=strict,
        search_index=search_index,
        progress=progress,
        precompress=precompress,
        on_published=on_published,
    )
    work_dir = config.root / CACHE_DIR_NAME
    if work_dir.exists() and not work_dir.is_dir():
        # Cache and staging folder live there; a file in the way is not ours to delete.
        message = "ist eine Datei; kldigital-site braucht hier einen Ordner (bitte umbenennen)."
        raise BuildFailed([SiteError(CACHE_DIR_NAME, 0, message)])
    try:
        with site_lock(work_dir, on_wait) if write else contextlib.nullcontext():
            # `check` writes nothing, not even the cache; it may still read it.
            memory = resident.cache if resident is not None else None
            cache = BuildCache(work_dir, read_only=not write, memory=memory) if use_cache else None
            try:
                if resident is None:
                    return _build(config, options, cache)
                return _build(config, options, cache, resident.tree, resident.kept, changed)
            finally:
                if cache is not None:
                    cache.close()
    except OSError as exc:
        # A full disk, a folder without rights or one deleted mid-build: the output is
        # swapped in one step at the very end, so the old site is still whole.
        raise BuildFailed([os_problem(exc, str(config.root))]) from exc


def _build(
    config: SiteConfig,
    options: BuildOptions,
    cache: BuildCache | None,
    tree: TreeMemory | None = None,
    kept: Kept | None = None,
    changed: Collection[Path] | None = None,
) -> BuildResult:
    """The stages in order (module docstring); ``problems.go_on()`` decides before writing."""
    problems = Problems(strict=options.strict)
    timer = _Timer()
    work_dir = config.root / CACHE_DIR_NAME
    writer = TreeWriter(options.target, work_dir, tree) if options.write else None
    indexer: search.SearchIndexer | None = None
    head_start: HeadStart | None = None
    folder: Path | None = None
    try:
        if kept is not None and changed and writer is not None and cache is not None:
            from kldigital_site.resident_build import save_bodies

            saved = save_bodies(config, options, cache, writer, kept, changed, timer)
            if saved is not None:
                return saved
        sources, unchanged = _sources(config, problems, kept, changed)
        inputs = problems.take(_read_inputs(config, sources, cache, writer, options, unchanged))
        if kept is not None:
            kept.digests = inputs.digests
        if writer is not None and not problems.has_errors and _unchanged(inputs, writer, options):
            return _unchanged_result(writer, inputs, problems, timer)
        edit: Edit | None = None
        if kept is None and writer is not None and cache is not None and not problems.has_errors:
            from kldigital_site.edit_build import edit_candidate

            edit = edit_candidate(config, inputs, cache, options)
        # Whatever this build publishes, the last one's pages no longer describe it.
        last_published = kept.published if kept is not None else None
        if kept is not None:
            kept.published = None
        from kldigital_site.accessibility.requirements import check_requirements
        from kldigital_site.cms.publish import cms_outputs
        from kldigital_site.markdown.bodies import render_bodies
        from kldigital_site.markdown.kept import keep_bodies, kept_bodies, links_key
        from kldigital_site.media.pipeline import media_folder, process_media
        from kldigital_site.render.assets import theme_assets
        from kldigital_site.resident import known_bodies, remember_bodies
        from kldigital_site.search import indexer as search

        folder = media_folder(config.root / CACHE_DIR_NAME if cache is not None else None)
        if edit is None:
            inputs = _with_pages(inputs, cache, writer)
            head_start = _head_start(config, sources, inputs, writer, options)
        elif cache is not None:
            # The short way reads few page records (edit_build.py), but the head start
            # needs those of the search pages: just their search digests, and which
            # read the edited bodies (``BuildCache.search_records``).
            records = functools.partial(cache.search_records, inputs.target_key)
            head_start = _head_start(config, sources, inputs, writer, options, records)
        parsed = problems.take(_parse_all(sources, inputs, cache, options.jobs))
        if (
            edit is not None
            and head_start is not None
            and cache is not None
            and not problems.has_errors
        ):
            # The search's head start goes on with the edited pages' shards meanwhile.
            from kldigital_site.edit_build import offer_guesses

            offer_guesses(edit, parsed.documents, inputs.raws, config, cache, head_start)
        # The bytes read for parsing are done with: at 10,000 items ~55 MB held to the end.
        inputs = dataclasses.replace(inputs, raws={})
        timer.lap("parse")
        assets = theme_assets(config)
        model_key = _model_inputs_key(config, inputs, parsed, assets.paths) if kept else ""
        model = _resident_model(
            config, parsed, options.now, assets.paths, problems, kept, model_key
        )
        site = problems.take(model)
        # /admin/ for `cms:` in site.yaml; `check` reports a missing bundle too.
        staged_admin = cms_outputs(config)
        admin = problems.take(staged_admin)
        # BITV 2.0, DDG, MStV: what the law asks of the whole site (accessibility/).
        required = check_requirements(site)
        problems.add(required)
        timer.lap("model")
        known = known_bodies(kept, model_key) if kept is not None else None
        # What the bodies read of the model: while it is as last time, so are they.
        links = links_key(site, inputs.digests) if cache is not None and writer is not None else ""
        usable = known is None and cache is not None and links
        last_bodies = kept_bodies(cache, links) if usable and cache is not None else None
        if last_bodies is not None:
            known = last_bodies.infos
        staged_bodies = render_bodies(site, cache, options.jobs, known=known)
        bodies = problems.take(staged_bodies)
        if kept is not None:
            infos = (*bodies.items.values(), *bodies.boilerplates.values())
            remember_bodies(kept, model_key, infos)
        timer.lap("markdown")
        staged_images = process_media(
            site, inputs.digests, bodies.image_uses, folder, jobs=options.jobs, write=options.write
        )
        images = problems.take(staged_images)
        timer.lap("media")
        work = _Work(parsed.parsed, bodies.rendered)
        if problems.has_errors:
            # Every error of the build in one run: the pages still render, so that
            # template errors are found too, but nothing is staged or indexed.
            if writer is not None:
                writer.abort()
            writer = None
        elif writer is not None and options.search_index:
            indexer = search.SearchIndexer(site, use_cache=cache is not None, head_start=head_start)
        edited: Edited | None = None
        if edit is not None and writer is not None and indexer is not None and cache is not None:
            from kldigital_site.edit_build import publish_edit

            beside = (*assets.outputs, *admin)
            documents = parsed.documents
            edited = publish_edit(
                edit,
                site,
                bodies,
                images,
                beside,
                documents,
                inputs,
                writer,
                indexer,
                cache,
                options,
            )
        if edited is None:
            if edit is not None:
                inputs = _with_pages(inputs, cache, writer)
            # A front-matter edit that moved an item: the short way knows the structure.
            structure = edit.structure if edit is not None else None
            pages = problems.take(
                _render_pages(
                    site,
                    bodies,
                    images,
                    parsed.documents,
                    inputs,
                    writer,
                    indexer,
                    options,
                    kept,
                    cache,
                    structure,
                )
            )
        else:
            inputs, pages = edited.inputs, edited.pages
        timer.lap("render")
        if not options.write:
            problems.take(_check_unpublished(config, parsed, site, bodies, cache, options))
            timer.lap("unpublished")
        problems.go_on()
        if writer is None:
            return _result(site, pages, None, problems, timer, images, work)
        if edited is None:
            _add_files(assets, images, writer, indexer, admin, precompress=options.precompress)
        else:
            edited.add_rest()
        timer.lap("search")
        report = writer.commit()
        # What is published now, as one hash: worked out by the commit for its record.
        published = writer.planned_tree_key
        writer = None  # committed: nothing left to abort
        timer.lap("write")
        if options.on_published is not None:
            options.on_published(report)
    except BaseException:
        if writer is not None:
            writer.abort()
        if indexer is not None:
            indexer.abort()
        raise
    finally:
        if head_start is not None:
            head_start.close()  # taken over by the indexer, or of no use any more
        if cache is None and folder is not None:  # --no-cache: images made in a scratch folder
            shutil.rmtree(folder, ignore_errors=True)
    if cache is not None:
        replayed = (*required, *staged_bodies.problems)
        _store_build(
            cache,
            inputs,
            site,
            pages,
            published,
            replayed,
            options.now,
            options.search_index,
            partial=edited is not None,
        )
        if links:
            infos = (*bodies.items.values(), *bodies.boilerplates.values())
            keep_bodies(cache, links, infos, last_bodies)
        if folder is not None and cache.writable:
            from kldigital_site.media.prune import prune_media

            prune_media(folder, images.files)
        if kept is not None and kept.site is site:
            discovered = kept.sources.problems if kept.sources is not None else ()
            fixed = (*discovered, *model.problems, *staged_admin.problems)
            from kldigital_site.resident_build import remember_published

            remember_published(
                kept,
                last_published,
                config,
                inputs,
                site,
                staged_bodies,
                images,
                pages,
                (*fixed, *required, *staged_images.problems),
                tuple(required),
            )
    if indexer is not None:
        work = dataclasses.replace(work, search_indexed=tuple(indexer.indexed))
    return _result(site, pages, report, problems, timer, images, work)


class _Timer:
    """Seconds per stage, for ``BuildResult.timings``."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._clock = time.perf_counter()

    def lap(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = now - self._clock
        self._clock = now


@dataclass(frozen=True, slots=True)
class _Inputs:
    """Every source's digest, and what the last build of this output was made from."""

    digests: dict[str, str]
    raws: dict[str, bytes]  # bytes of the sources the cache holds no document for
    theme: list[tuple[str, str]]  # every template and theme asset with its digest
    key: str  # all of it as one digest (``_key``)
    target_key: str  # the output folder, as the cache knows it
    last: Mapping[str, Any] | None  # the last build's record (``BuildCache.last_build``)
    previous: Mapping[str, PageRecord]  # its pages (``_with_pages``)
    # The templates of ``theme`` (the first of its entries), by name.
    templates: Mapping[str, str] = field(default_factory=dict)


def _read_inputs(
    config: SiteConfig,
    sources: tuple[SourceFile, ...],
    cache: BuildCache | None,
    writer: TreeWriter | None,
    options: BuildOptions,
    unchanged: Mapping[str, str] | None = None,
) -> Staged[_Inputs]:
    read = _read_sources(sources, cache, unchanged)
    digests, raws = read.value
    target_key = str(options.target.absolute())
    # Only a build that writes compares with the last one: `check` renders every page,
    # it must find every template error.
    known = cache is not None and writer is not None
    templates = template_digests(config.templates_dir)
    theme = _theme_digests(config, templates)
    inputs = _Inputs(
        digests=digests,
        raws=raws,
        theme=theme,
        key=_key(config, theme, *sorted(digests.items())),
        target_key=target_key,
        last=cache.last_build(target_key) if known and cache is not None else None,
        previous={},  # read by ``_with_pages`` once the build is known to do something
        templates=templates,
    )
    return Staged(inputs, read.problems)


def _with_pages(inputs: _Inputs, cache: BuildCache | None, writer: TreeWriter | None) -> _Inputs:
    """The last build's page records: 10,000 rows that a build changing nothing never
    needs (a quarter of its time at 10,000 items, issue 15)."""
    if cache is None or writer is None:
        return inputs
    return dataclasses.replace(inputs, previous=cache.pages(inputs.target_key))


_MARKDOWN_KINDS = frozenset({SourceKind.PROJECT, SourceKind.PRESS, SourceKind.PAGE})


def _head_start(
    config: SiteConfig,
    sources: tuple[SourceFile, ...],
    inputs: _Inputs,
    writer: TreeWriter | None,
    options: BuildOptions,
    records: Callable[[Collection[str]], Mapping[str, PageRecord]] | None = None,
) -> HeadStart | None:
    """Pagefind started on the search shards a few edited Markdown files are likely to
    change, while this build parses (search/head_start.py); None where there is nothing
    to start: no edited text, no search index, no last build to know the shards from.
    The last build's page records are ``inputs.previous``, or those ``records`` gives
    for the edited bodies' "body:<key>" names (the short way of an edit)."""
    if writer is None or not options.search_index:
        return None
    if records is None and not inputs.previous:
        return None
    edited = [
        source.content_path
        for source in sources
        if source.kind in _MARKDOWN_KINDS and source.rel_path in inputs.raws
    ]
    from kldigital_site.search.head_start import MAX_EDITED, HeadStart
    from kldigital_site.search.indexer import CACHE_SUBDIR

    if not edited or len(edited) > MAX_EDITED:
        return None
    previous = inputs.previous if records is None else records([f"body:{k}" for k in edited])
    if not previous:
        return None
    head_start = HeadStart(previous, edited, options.target, config.root / CACHE_SUBDIR)
    head_start.start()
    return head_start


def _unchanged(inputs: _Inputs, writer: TreeWriter, options: BuildOptions) -> bool:
    """Every source byte for byte as last time, no embargo ended since, the output as the
    last build left it: the same model, the same site, so nothing needs parsing."""
    last = inputs.last
    return (
        last is not None
        and _same_inputs(last, inputs.key, options.now)
        # A build without the search index left it behind its pages; one with it, current.
        and (last.get("indexed") is True or not options.search_index)
        and _intact(writer)
        and last.get("tree") == writer.published_tree_key
    )


def _unchanged_result(
    writer: TreeWriter, inputs: _Inputs, problems: Problems, timer: _Timer
) -> BuildResult:
    """The result of a build that leaves the output as it is (``_unchanged``)."""
    writer.abort()
    last = inputs.last or {}
    problems.add(SiteError(p, ln, m, Severity(s)) for p, ln, m, s in last.get("warnings", []))
    problems.go_on()
    unchanged = tuple(sorted(writer.previous_digests))
    pages = last.get("pages")
    if type(pages) is not int:  # a cache of an older version
        pages = sum(1 for p in unchanged if p.endswith(".html"))
    until = last.get("next_change")
    return BuildResult(
        None,
        pages,
        WriteReport((), unchanged, ()),
        problems.warnings,
        timings=timer.timings,
        next_change=dt.datetime.fromisoformat(until) if isinstance(until, str) else None,
        left_out=_left_out(last.get("left_out")),
    )


def _left_out(stored: Any) -> LeftOut:
    """The last build's ``LeftOut`` as the cache keeps it (the same inputs leave out the same)."""
    if isinstance(stored, list) and len(stored) == 2 and all(isinstance(n, int) for n in stored):
        return LeftOut(*stored)
    return LeftOut()


@dataclass(slots=True)
class _Pages:
    """The page loop's bookkeeping: what each rendered page left for the result and cache."""

    records: dict[str, PageRecord] = field(default_factory=dict)
    rendered: set[str] = field(default_factory=set)
    examined: set[str] = field(default_factory=set)
    html_pages: int = 0
    model_key: str = ""  # what the pages were made from (``_model_key``, ``body_signatures``)
    signatures: dict[str, str] = field(default_factory=dict)
    frame_key: str = ""  # the model but the items' front matter (``_frame_key``)
    structure: str = ""  # ``structure_digest`` of the model, a part of ``frame_key``
    heads: dict[str, str] = field(default_factory=dict)  # item key → its front matter's digest
    # ``model_key`` with the template files left out, and their digests (render/pages.py
    # ``_template_change``).
    untemplated_key: str = ""
    templates: Mapping[str, str] = field(default_factory=dict)
    # One copy of each template list and of each body read (``_shared``).
    names: dict[Any, Any] = field(default_factory=dict)

    def count(self, result: PageResult) -> None:
        self.html_pages += result.path.endswith(".html") and not result.is_redirect
        if result.record is not None:
            # A page kept by the text-only shortcut (not examined) carries the very
            # record of the last build: ``store_build`` tells those by identity.
            record = self._shared(result.record) if result.examined else result.record
            self.records[result.path] = record
        if result.data is not None or result.same_bytes:
            self.rendered.add(result.path)
        if result.examined:
            self.examined.add(result.path)

    def _shared(self, record: PageRecord) -> PageRecord:
        """``record`` with the template list and the body reads this build has met before.

        Each record comes unpickled from a worker with copies of its own: a cold build
        at 10,000 items held ~60 MB of them, most of it the same 14 template lists
        and the same body names again and again."""
        names = self.names
        templates = names.setdefault(record.templates, record.templates)
        reads = tuple([names.setdefault(read, read) for read in record.reads])
        return PageRecord(record.fingerprint, templates, record.digest, reads, record.search)


def _render_pages(
    site: Site,
    bodies: Bodies,
    images: Media,
    documents: list[Document],
    inputs: _Inputs,
    writer: TreeWriter | None,
    indexer: search.SearchIndexer | None,
    options: BuildOptions,
    kept: Kept | None = None,
    cache: BuildCache | None = None,
    structure: str | None = None,
) -> Staged[_Pages]:
    """Render every page into the writer and, while they come, the search index.
    ``structure``: the model's ``structure_digest`` if known already (edit_build.py)."""
    from kldigital_site.media.pipeline import media_fingerprint
    from kldigital_site.precompress import add_kept_siblings, add_siblings
    from kldigital_site.render.pages import body_signatures, render_pages

    model_key = _model_key(site, inputs.theme, inputs.digests, documents)
    # What pages show of the images (variant names, sizes, credits) counts too.
    shown = media_fingerprint(images)
    last = _last_build(inputs.last, inputs.previous)
    pages = _Pages(
        model_key=hashlib.sha256(f"{model_key}:{shown}".encode()).hexdigest(),
        signatures=body_signatures(bodies, kept.summaries if kept is not None else None),
        heads={key: item.doc.head_digest for key, item in site.items.items()},
        templates=inputs.templates,
    )
    # The same model has the same untemplated key: a body edit need not work it out
    # (~20 ms at 10,000 items).
    same_model = last is not None and last.model_key == pages.model_key
    if last is not None and same_model and last.untemplated_key:
        pages.untemplated_key = last.untemplated_key
    else:
        pages.untemplated_key = _untemplated_key(site, inputs, documents, shown)
    # And the same frame. A model that differs from the last one in its templates alone
    # (the same untemplated key) has the last one's structure: ``structure_digest``, a
    # tenth of a second at 10,000 items, is worked out only when something else changed.
    same_structure = same_model or (
        last is not None and last.untemplated_key == pages.untemplated_key
    )
    if last is not None and same_structure and last.structure:
        pages.structure = last.structure
    else:
        pages.structure = structure or structure_digest(site)
    pages.frame_key = (
        last.frame_key
        if last is not None and same_model
        else _frame_key(site, inputs.theme, inputs.digests, documents, shown, pages.structure)
    )
    problems: list[SiteError] = []
    progress = options.progress
    # The pages kept as they are published, added before any page renders (``announce``).
    added: Mapping[str, PageRecord] = {}

    def announce(kept: Mapping[str, PageRecord]) -> None:
        # Every kept page with its siblings in one step, not each in the loop below:
        # 30,000 calls in an edit build at 10,000 items (issue 15). The search pages
        # among them are known to the index before the loop: it starts Pagefind once
        # the changed ones have rendered.
        nonlocal added
        assert writer is not None
        writer.add_as_published(kept)
        if options.precompress:
            add_kept_siblings(writer, kept)
        added = kept
        if indexer is None:
            return
        for path, record in kept.items():
            if indexer.indexes(path):
                indexer.expect(path, record.search, writer.staged_reader(path))

    for result in render_pages(
        site,
        bodies,
        _environment(site, inputs.theme, kept, cache),
        previous=inputs.previous,
        on_disk=writer.previous_digests if writer is not None else {},
        jobs=options.jobs,
        progress=(lambda done, total: progress("render", done, total)) if progress else None,
        model_key=pages.model_key,
        signatures=pages.signatures,
        last=last,
        frame_key=pages.frame_key,
        heads=pages.heads,
        media=images,
        precompress=options.precompress,
        announce=announce if writer is not None else None,
        untemplated_key=pages.untemplated_key,
        templates=inputs.templates,
    ):
        if result.problems:
            problems.extend(result.problems)
            continue
        pages.count(result)
        if writer is not None:
            if result.path not in added:
                writer.add(result.path, digest=result.digest, data=result.data)
                if options.precompress:
                    add_siblings(writer, result.path, result.data, result.siblings)
            if indexer is not None and indexer.indexes(result.path):
                # A reader of the staged copy, not the bytes: the indexer must not
                # hold every page; it reads only those of shards that changed. Keyed
                # on what the search reads of the page, so that a change of the
                # frame all pages share re-indexes nothing (search/extract.py). Only
                # for search pages: 20,000 readers of other files at 10,000 items
                # were made for nothing.
                searched = result.record.search if result.record is not None else ""
                indexer.add(result.path, searched, writer.staged_reader(result.path))
    if indexer is not None:
        indexer.seal()
    return Staged(pages, tuple(problems))


def _check_unpublished(
    config: SiteConfig,
    parsed: _Parsed,
    site: Site,
    bodies: Bodies,
    cache: BuildCache | None,
    options: BuildOptions,
) -> Staged[None]:
    """``check`` checks drafts and embargoed documents as fully as published ones.

    They are checked in the site the preview shows, where they are published:
    their model, their links (a link to another draft is fine there) and their
    own pages. The published site was checked already; what the two share
    reports the same problems, which ``Problems`` counts once.
    """
    from kldigital_site.markdown.bodies import render_bodies
    from kldigital_site.render.pages import render_pages
    from kldigital_site.render.templates import make_environment

    if config.include_drafts and config.include_future:
        return Staged(None)  # the site checked is the preview already
    preview = dataclasses.replace(config, include_drafts=True, include_future=True)
    whole = _model(preview, parsed, options.now, site.assets)
    unpublished = frozenset(whole.value.items) - frozenset(site.items)
    if not unpublished:
        return Staged(None, whole.problems)
    known = {info.key: info for info in (*bodies.items.values(), *bodies.boilerplates.values())}
    more = render_bodies(whole.value, cache, options.jobs, known=known)
    problems = [*whole.problems, *more.problems]
    for result in render_pages(
        whole.value,
        more.value,
        make_environment(preview, whole.value.assets, _compiled_templates(cache)),
        previous={},
        on_disk={},
        jobs=options.jobs,
        only_items=unpublished,
    ):
        problems.extend(result.problems)
    return Staged(None, tuple(problems))


def _add_files(
    assets: ThemeAssets,
    images: Media,
    writer: TreeWriter,
    indexer: search.SearchIndexer | None,
    admin: tuple[Output, ...],
    *,
    precompress: bool,
) -> None:
    """Media, theme assets, /admin/ (``cms:``) and the search index join the pages."""
    from kldigital_site.precompress import add_siblings
    from kldigital_site.search import indexer as search

    for output in (*assets.outputs, *admin):
        writer.add_output(output)
        if precompress:
            add_siblings(writer, output.path, output.data)
    for image_file in images.files:
        writer.add(image_file.path, digest=image_file.digest, source=image_file.source)
        if precompress:
            add_siblings(writer, image_file.path, None)  # SVG ones
    if indexer is not None:
        # The output folder's own files are looked for while Pagefind indexes the
        # changed shards, not after: an edit build waits 0.5 s for it at 10,000 items.
        writer.find_foreign()
        for bundle_file in indexer.finish(writer.previous_digests):
            if isinstance(bundle_file, search.Kept):
                writer.add(bundle_file.path, digest=bundle_file.digest)
            else:
                writer.add_output(bundle_file)
        return
    bundle = f"{BUNDLE_DIR}/"
    writer.add_as_published(p for p in writer.previous_digests if p.startswith(bundle))


def _store_build(
    cache: BuildCache,
    inputs: _Inputs,
    site: Site,
    pages: _Pages,
    published: str,
    body_problems: tuple[SiteError, ...],
    now: dt.datetime,
    search_index: bool,
    *,
    partial: bool = False,
) -> None:
    """What the next build compares with: inputs, model, bodies, the published tree.
    ``partial``: ``pages`` holds the records of the pages rendered (and
    ``inputs.previous`` theirs before), the others stay as stored (edit_build.py)."""
    cache.store_build(
        inputs.target_key,
        pages.records,
        {
            **_time_window(inputs.key, site, now),
            "model": pages.model_key,
            "bodies": pages.signatures,
            "frame": pages.frame_key,
            "structure": pages.structure,
            "heads": pages.heads,
            "untemplated": pages.untemplated_key,
            "templates": dict(pages.templates),
            "tree": published,
            "indexed": search_index,
            "left_out": [site.left_out.drafts, site.left_out.embargoed],
            # Reported again by a build that changes nothing: the tree alone does not
            # tell a page from a redirect's HTML file.
            "pages": pages.html_pages,
            # Replayed by a build that changes nothing (``_unchanged_result``).
            "warnings": [
                [w.path, w.line, w.message, w.severity.value]
                for w in body_problems
                if not w.is_error
            ],
        },
        inputs.previous if partial else (inputs.previous or None),
        partial=partial,
    )


@dataclass(frozen=True, slots=True)
class _Work:
    """What the cache did not save (``BuildResult.parsed`` and the two after it)."""

    parsed: frozenset[str]
    bodies_rendered: frozenset[str]
    search_indexed: tuple[int, ...] = ()


def _result(
    site: Site,
    pages: _Pages,
    report: WriteReport | None,
    problems: Problems,
    timer: _Timer,
    images: Media,
    work: _Work,
) -> BuildResult:
    return BuildResult(
        site,
        pages.html_pages,
        report,
        problems.warnings,
        frozenset(pages.rendered),
        frozenset(pages.examined),
        timer.timings,
        site.next_change,
        site.left_out,
        images.decoded,
        work.parsed,
        work.bodies_rendered,
        work.search_indexed,
    )


def _intact(writer: TreeWriter) -> bool:
    """The published files are all still there, unchanged (nobody deleted or edited any)."""
    return bool(writer.previous_digests) and writer.intact


def _theme_digests(
    config: SiteConfig, templates: Mapping[str, str] | None = None
) -> list[tuple[str, str]]:
    """Every template (first; ``templates`` if read already) and theme asset with its digest."""
    assets = config.templates_dir / ASSETS_DIR
    if templates is None:
        templates = template_digests(config.templates_dir)
    return [
        *sorted(templates.items()),
        *((name, file_digest(assets / name)) for name in asset_files(config)),
    ]


def _key(config: SiteConfig, theme: list[tuple[str, str]], *parts: Any) -> str:
    """One digest of the tool's code, the settings, the theme and ``parts``."""
    # One update of the joined text: the same digest as one update per part, without a
    # call per part (10,000 source digests on every build).
    parts = (tool_fingerprint(), config.fingerprint(), config.base_url, *theme, *parts)
    return hashlib.sha256("".join(map(repr, parts)).encode()).hexdigest()


def _model_key(
    site: Site, theme: list[tuple[str, str]], digests: Mapping[str, str], documents: list[Document]
) -> str:
    """Everything the model and so the views follow from, bodies left out (render/pages.py).

    A Markdown file counts by its head (path and front matter): the body reaches
    views only through ``Bodies``, which render/pages.py compares body by body.
    """
    heads = {doc.rel_path: doc.head_digest for doc in documents}
    # Each part as one text, between NULs (no path or digest holds one), and hashed: the
    # repr of each of 20,000 tuples was two thirds of this at 10,000 items (issue 15).
    items = site.items
    sources = "".join([f"{path}\0{heads.get(path, digests[path])}\0" for path in sorted(digests)])
    states = "".join(
        [f"{key}\0{items[key].is_draft}{items[key].is_future}\0" for key in sorted(items)]
    )
    return _key(
        site.config,
        theme,
        hashlib.sha256(sources.encode()).hexdigest(),
        hashlib.sha256(states.encode()).hexdigest(),
        site.next_change,  # changes whenever a date passes, e.g. a project's start
    )


def _frame_key(
    site: Site,
    theme: list[tuple[str, str]],
    digests: Mapping[str, str],
    documents: list[Document],
    shown: str,
    structure: str,
) -> str:
    """Everything the views follow from but what the items' front matter says of them
    (their title, description, pictures …): ``_model_key`` with the items' Markdown files
    left out and the model's structure in their place (``structure``: its
    ``structure_digest``,
    render/pages.py ``_changed_reads``). A front-matter change that moves an item
    (another date, topic or address) changes the frame and so examines every page; one
    that changes only what is shown of an item changes its "head" alone. A Markdown file
    that makes no item (a draft, an embargo) counts whole here: what it changes of the
    site is not recorded per page.
    """
    published = {item.doc.rel_path for item in site.items.values()}
    markdown = {doc.rel_path for doc in documents}
    return _key(
        site.config,
        theme,
        *sorted(
            (path, digest)
            for path, digest in digests.items()
            if path not in markdown or path not in published
        ),
        structure,
        shown,
    )


def _untemplated_key(site: Site, inputs: _Inputs, documents: list[Document], shown: str) -> str:
    """``_pages_key`` with the template files left out (render/pages.py ``_template_change``);
    ``shown``: the images' ``media_fingerprint``."""
    # The theme but its templates: ``inputs.theme`` lists them first (``_theme_digests``).
    assets = inputs.theme[len(inputs.templates) :]
    untemplated = _model_key(site, assets, inputs.digests, documents)
    return hashlib.sha256(f"{untemplated}:{shown}".encode()).hexdigest()


def _pages_key(site: Site, inputs: _Inputs, documents: list[Document], images: Media) -> str:
    """What the pages were made from but the bodies (``_model_key``)."""
    from kldigital_site.media.pipeline import media_fingerprint

    model_key = _model_key(site, inputs.theme, inputs.digests, documents)
    # What pages show of the images (variant names, sizes, credits) counts too.
    return hashlib.sha256(f"{model_key}:{media_fingerprint(images)}".encode()).hexdigest()


def _last_build(
    last: Mapping[str, Any] | None, previous: Mapping[str, PageRecord]
) -> LastBuild | None:
    """The previous build's inputs, if they describe the page records there are."""
    if not previous:
        return None
    return _recorded_build(last)


def _recorded_build(last: Mapping[str, Any] | None) -> LastBuild | None:
    """What the previous build's record (``BuildCache.last_build``) says it was made from."""
    from kldigital_site.render.pages import LastBuild

    if not last:
        return None
    model, bodies = last.get("model"), last.get("bodies")
    if not isinstance(model, str) or not isinstance(bodies, dict):
        return None
    frame, heads = last.get("frame"), last.get("heads")
    if not isinstance(frame, str) or not isinstance(heads, dict):
        frame, heads = "", {}
    untemplated, templates = last.get("untemplated"), last.get("templates")
    if not isinstance(untemplated, str) or not isinstance(templates, dict):
        untemplated, templates = "", {}
    structure = last.get("structure")
    return LastBuild(
        model,
        {str(k): str(v) for k, v in bodies.items()},
        frame,
        {str(k): str(v) for k, v in heads.items()},
        untemplated,
        {str(k): str(v) for k, v in templates.items()},
        structure if isinstance(structure, str) else "",
    )


def _time_window(inputs_key: str, site: Site, now: dt.datetime) -> dict[str, Any]:
    """For how long these inputs give this site: from ``now`` until the next embargo ends."""
    return {
        "inputs": inputs_key,
        "now": now.isoformat(),
        "next_change": site.next_change.isoformat() if site.next_change else None,
    }


def _same_inputs(last: Mapping[str, Any], inputs_key: str, now: dt.datetime) -> bool:
    """The last build read exactly these inputs (``_key``), and no item changed sides of
    "now" since."""
    if last.get("inputs") != inputs_key or not isinstance(last.get("now"), str):
        return False
    try:
        then = dt.datetime.fromisoformat(last["now"])
        until = last.get("next_change")
        next_change = dt.datetime.fromisoformat(until) if isinstance(until, str) else None
        return then <= now and (next_change is None or now < next_change)
    except (ValueError, TypeError):
        return False


def _parse_task(_: None, task: tuple[SourceFile, bytes]) -> Staged[Document | DataFile | None]:
    return parse_source(*task)


# A file whose modification time is this close to the moment it was hashed might be
# written again within the same timestamp tick: its stat is not remembered (git's
# "racily clean" entries).
_RACY_NS = 2_000_000_000


def _read_sources(
    sources: tuple[SourceFile, ...], cache: BuildCache | None, unchanged: Mapping[str, str] | None
) -> Staged[tuple[dict[str, str], dict[str, bytes]]]:
    """The digest of every source, and the bytes of those the cache holds no document for.

    A file whose size, modification and change time and inode are those it had when
    last hashed is not read again (as git's index does): at 10,000 files reading and
    hashing them all was a third of a build that changes nothing. The change time
    cannot be set back by any tool, so an edit always shows. The files a watcher saw
    unchanged since the last build (``unchanged``: their digests then, resident.py) are
    not even looked at.
    """
    known = cache.document_digests() if cache is not None else {}
    remembered = cache.source_digests() if cache is not None else {}
    digests: dict[str, str] = {}
    raws: dict[str, bytes] = {}
    fresh: dict[str, tuple[str, str]] = {}
    problems: list[SiteError] = []
    started = time.time_ns()
    for source in sources:
        if unchanged and source.kind is not SourceKind.DATA:
            digest = unchanged.get(source.rel_path)
            # A document the cache holds for that digest needs no bytes (``raws``).
            cached = source.kind is SourceKind.MEDIA or known.get(source.rel_path) == digest
            if digest is not None and cached:
                digests[source.rel_path] = digest
                continue
        try:
            info = os.stat(source.location)  # before reading: a later write changes it
            stat = f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}"
            hit = remembered.get(source.rel_path)
            if hit is not None and hit[0] == stat and source.kind is not SourceKind.DATA:
                digests[source.rel_path] = hit[1]
                continue
            raw = source.path.read_bytes()
        except OSError as exc:
            problems.append(_unreadable(source, exc))
            continue
        digest = digests[source.rel_path] = digest_of(raw)
        if started - max(info.st_mtime_ns, info.st_ctime_ns) > _RACY_NS:
            fresh[source.rel_path] = (stat, digest)
        if source.kind is not SourceKind.MEDIA and (
            source.kind is SourceKind.DATA or known.get(source.rel_path) != digest
        ):
            raws[source.rel_path] = raw
    if cache is not None:
        cache.store_source_digests(fresh, digests)
    return Staged((digests, raws), tuple(problems))


def _unreadable(source: SourceFile, exc: OSError) -> SiteError:
    return SiteError(source.rel_path, 0, f"Datei nicht lesbar: {os_reason(exc)}")


@dataclass(frozen=True, slots=True)
class _Parsed:
    documents: list[Document]
    data_files: list[DataFile]
    media: list[SourceFile]
    flawed: list[Document | DataFile]  # files with errors, as far as they could be read
    parsed: frozenset[str] = frozenset()  # the files parsed now, not taken from the cache


def _parse_all(
    sources: tuple[SourceFile, ...], inputs: _Inputs, cache: BuildCache | None, jobs: int
) -> Staged[_Parsed]:
    """Every source as a document, data file or media file; cached documents are reused."""
    cached = cache.documents() if cache is not None else {}
    parsed = _Parsed([], [], [], [])
    problems: list[SiteError] = []
    to_parse: list[tuple[SourceFile, bytes]] = []
    for source in sources:
        digest = inputs.digests.get(source.rel_path)
        if digest is None:
            continue  # unreadable: reported by _read_sources
        if source.kind is SourceKind.MEDIA:
            parsed.media.append(source)
            continue
        hit = cached.get(source.rel_path)
        if hit is not None and hit[0] == digest and source.kind is not SourceKind.DATA:
            parsed.documents.append(hit[1])
            continue
        raw = inputs.raws.get(source.rel_path)
        if raw is None:
            # Its cached document did not pass the checksum after all: read it again.
            read = _read_again(source, digest)
            problems.extend(read.problems)
            if read.value is None:
                continue
            raw = read.value
        to_parse.append((source, raw))
    fresh: list[Document] = []
    for result in run_parallel(_parse_task, None, to_parse, jobs):
        problems.extend(result.problems)
        if result.value is not None and result.has_errors:
            parsed.flawed.append(result.value)  # never cached: parsed again next time
        elif isinstance(result.value, DataFile):
            parsed.data_files.append(result.value)
        elif result.value is not None:
            # The body is read again when it is rendered (markdown/bodies.py, which checks the
            # digest): 10,000 bodies held from here on were ~100 MB of a cold build's peak.
            fresh.append(dataclasses.replace(result.value, body=None))
    parsed = dataclasses.replace(parsed, parsed=frozenset(s.rel_path for s, _ in to_parse))
    del to_parse
    parsed.documents.extend(fresh)
    parsed.documents.sort(key=lambda d: d.content_path)
    parsed.data_files.sort(key=lambda d: d.content_path)
    parsed.flawed.sort(key=lambda d: d.content_path)
    if cache is not None:
        cache.store_documents(fresh)
        cache.forget_documents_except(s.rel_path for s in sources)
    return Staged(parsed, tuple(problems))


def _sources(
    config: SiteConfig, problems: Problems, kept: Kept | None, changed: Collection[Path] | None
) -> tuple[tuple[SourceFile, ...], Mapping[str, str] | None]:
    """Every source, and the digests the last build read of those a watcher saw unchanged
    since (resident.py)."""
    if kept is None:
        return problems.take(discover(config.content_dir, config.root)), None
    from kldigital_site.resident import known_sources, remember_sources

    content_dir = config.content_dir.resolve()
    known, unchanged = known_sources(kept, content_dir, changed)
    if known is not None:
        return problems.take(known), unchanged
    found = discover(config.content_dir, config.root)
    remember_sources(kept, content_dir, found)
    return problems.take(found), None


def _model_inputs_key(
    config: SiteConfig, inputs: _Inputs, parsed: _Parsed, assets: Mapping[str, str]
) -> str:
    """Everything the model follows from but "now": sources by digest, Markdown files by
    their head (``Document.head_digest``), theme files by published name, the settings."""
    heads = {doc.rel_path: doc.head_digest for doc in parsed.documents}
    # The folders too: the model keeps the settings it was made with (``Site.config``).
    folders = (config.root, config.content_dir, config.templates_dir, config.output_dir)
    return _key(
        config,
        [],
        *map(str, folders),
        *sorted(assets.items()),
        *sorted((path, heads.get(path, digest)) for path, digest in inputs.digests.items()),
    )


def _resident_model(
    config: SiteConfig,
    parsed: _Parsed,
    now: dt.datetime,
    assets: Mapping[str, str],
    problems: Problems,
    kept: Kept | None,
    key: str,
) -> Staged[Site]:
    """The model, taken from the last build when only bodies changed since (resident.py).
    A build with errors so far (a file unreadable or flawed) always makes it anew."""
    from kldigital_site.resident import known_model, remember_model

    usable = kept is not None and not problems.has_errors and not parsed.flawed
    if kept is not None and usable:
        known = known_model(kept, key, parsed.documents, now)
        if known is not None:
            return known
    model = _model(config, parsed, now, assets)
    if kept is not None:
        remember_model(kept, key, model if usable else None)
    return model


def _environment(
    site: Site, theme: list[tuple[str, str]], kept: Kept | None, cache: BuildCache | None = None
) -> RecordingEnvironment:
    """The Jinja environment, with the templates it compiled, kept while no template, theme
    file or setting it reads changed (resident.py). With the ``cache``, templates compiled
    by an earlier build are loaded as code (render/compiled.py)."""
    from kldigital_site.render.templates import make_environment

    compiled = _compiled_templates(cache)
    if kept is None:
        return make_environment(site.config, site.assets, compiled)
    key = _key(site.config, theme, str(site.config.templates_dir), *sorted(site.assets.items()))
    if kept.environment is None or kept.environment[0] != key:
        kept.environment = (key, make_environment(site.config, site.assets, compiled))
    return kept.environment[1]


def _compiled_templates(cache: BuildCache | None) -> CompiledTemplates | None:
    """The compiled templates beside the ``cache``; a build without it compiles them all."""
    from kldigital_site.render.compiled import COMPILED_DIR, CompiledTemplates

    if cache is None:
        return None
    return CompiledTemplates(cache.directory / COMPILED_DIR, write=not cache.read_only)


def _model(
    config: SiteConfig, parsed: _Parsed, now: dt.datetime, assets: Mapping[str, str]
) -> Staged[Site]:
    return build_site(
        config,
        parsed.documents,
        parsed.data_files,
        parsed.media,
        assets,
        now,
        flawed=parsed.flawed,
    )


def _read_again(source: SourceFile, digest: str) -> Staged[bytes | None]:
    try:
        raw = source.path.read_bytes()
    except OSError as exc:
        return Staged(None, (_unreadable(source, exc),))
    if digest_of(raw) != digest:
        return Staged(None, (SiteError(source.rel_path, 0, CHANGED_DURING_BUILD),))
    return Staged(raw)
