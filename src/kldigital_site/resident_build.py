"""The preview's short way (issue 15): what a long-running process keeps ready, and a
save of bodies that renders and publishes just the pages that read them.

build.py knows the order of the stages and runs them all; this module runs a few of
them against what the last build of the same process left in memory (resident.py):
``prepare`` fills that memory after a start that found nothing changed,
``prepare_saves`` and ``stage_published`` make what the first save would otherwise
make while the editor waits, and ``save_bodies`` is the save itself. Anything it
cannot tell apart from a whole build's work returns None, and the whole build runs.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import os
import time
from collections import Counter
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from kldigital_site.build import (
    _RACY_NS,
    BuildOptions,
    BuildResult,
    _environment,
    _Inputs,
    _key,
    _model_inputs_key,
    _Pages,
    _pages_key,
    _parse_all,
    _read_inputs,
    _resident_model,
    _result,
    _same_inputs,
    _sources,
    _store_build,
    _theme_digests,
    _Timer,
    _Work,
    tree_key,
)
from kldigital_site.cache import CACHE_DIR_NAME, BuildCache
from kldigital_site.config import SiteConfig
from kldigital_site.content.discover import SourceFile, SourceKind
from kldigital_site.content.parse import Document, digest_of, parse_source
from kldigital_site.errors import BuildFailed, Problems, SiteError, Staged
from kldigital_site.lock import site_lock
from kldigital_site.model import Route, RouteKind, Site
from kldigital_site.output import TreeMemory, TreeWriter
from kldigital_site.render.assets import ASSETS_DIR
from kldigital_site.workers import default_jobs

if TYPE_CHECKING:
    from kldigital_site.markdown.bodies import Bodies
    from kldigital_site.media.pipeline import Media
    from kldigital_site.render.templates import RecordingEnvironment
    from kldigital_site.resident import Kept, PlacedRoutes, Published, Resident


def prepare(
    config: SiteConfig, *, now: dt.datetime, out_dir: Path, jobs: int | None, resident: Resident
) -> bool:
    """Fill ``resident`` as a build of ``out_dir`` would, writing nothing but the cache.

    A preview that starts with nothing changed makes no model (``_unchanged``), so
    its first save would pay for decoding every document, making the model and
    checking every body's links: seconds at 10,000 items; a start that built read
    the cache's rows only as far as it needed them. The preview calls this once it
    is idle after its start. False when the site has errors (the next build reports
    them) or the cache cannot be used.
    """
    from kldigital_site.markdown.bodies import render_bodies
    from kldigital_site.render.assets import theme_assets
    from kldigital_site.resident import known_bodies, remember_bodies

    options = BuildOptions(now=now, target=out_dir, jobs=jobs or default_jobs(), write=False)
    work_dir = config.root / CACHE_DIR_NAME
    try:
        with site_lock(work_dir):
            cache = BuildCache(work_dir, memory=resident.cache)
            try:
                if not cache.writable:
                    return False
                kept, problems = resident.kept, Problems()
                sources, unchanged = _sources(config, problems, kept, None)
                inputs = problems.take(
                    _read_inputs(config, sources, cache, None, options, unchanged)
                )
                kept.digests = inputs.digests
                cache.last_build(inputs.target_key)
                cache.pages(inputs.target_key)
                parsed = problems.take(_parse_all(sources, inputs, cache, options.jobs))
                inputs = dataclasses.replace(inputs, raws={})  # done with, as in ``_build``
                paths = theme_assets(config).paths
                model_key = _model_inputs_key(config, inputs, parsed, paths)
                model = _resident_model(config, parsed, now, paths, problems, kept, model_key)
                if problems.has_errors or model.has_errors:
                    return False
                known = known_bodies(kept, model_key)
                staged_bodies = render_bodies(model.value, cache, options.jobs, known=known)
                bodies = staged_bodies.value
                remember_bodies(
                    kept, model_key, (*bodies.items.values(), *bodies.boilerplates.values())
                )
                environment = _environment(model.value, inputs.theme, kept, cache)
                last = kept.published
                if last is not None and _same_model(last.site, kept.site):
                    last.site = model.value  # made again with a later "now" only
                if kept.published is None or kept.published.site is not kept.site:
                    kept.published = None
                    _prepare_published(
                        config,
                        cache,
                        kept,
                        inputs,
                        parsed.documents,
                        model,
                        staged_bodies,
                        resident.tree,
                        options,
                    )
                if kept.published is not None:
                    _prepare_saves(kept.published, environment)
                return True
            finally:
                cache.close()
    except OSError:
        return False


def _prepare_published(
    config: SiteConfig,
    cache: BuildCache,
    kept: Kept,
    inputs: _Inputs,
    documents: list[Document],
    model: Staged[Site],
    staged_bodies: Staged[Bodies],
    tree: TreeMemory,
    options: BuildOptions,
) -> None:
    """What the last build published (``Published``), when it is what these inputs make
    and the output folder still holds it: after a start that found nothing changed."""
    from kldigital_site.accessibility.requirements import check_requirements
    from kldigital_site.cms.publish import cms_outputs
    from kldigital_site.media.pipeline import media_folder, process_media
    from kldigital_site.render.pages import body_signatures

    last = cache.last_build(inputs.target_key)
    published = TreeMemory.recall(tree.published, options.target.absolute())
    if last is None or published is None or not _same_inputs(last, inputs.key, options.now):
        return
    site, bodies = model.value, staged_bodies.value
    # As a build makes them: the published variants are in the media cache already.
    images = process_media(
        site, inputs.digests, bodies.image_uses, media_folder(config.root / CACHE_DIR_NAME),
        jobs=options.jobs, write=True,
    )  # fmt: skip
    pages = _Pages(
        records=dict(cache.pages(inputs.target_key)),
        model_key=_pages_key(site, inputs, documents, images.value),
        signatures=body_signatures(bodies, kept.summaries),
        # The same model has the same frame (``_render_pages``).
        frame_key=str(last.get("frame", "")),
        structure=str(last.get("structure", "")),
        heads={key: item.doc.head_digest for key, item in site.items.items()},
        # As the cache has them, with the model key they belong to (checked below).
        untemplated_key=str(last.get("untemplated", "")),
        templates=last.get("templates") or {},
    )
    if (
        last.get("model") != pages.model_key
        or last.get("bodies") != pages.signatures
        or last.get("tree") != tree_key(published.files)
    ):
        return
    pages.html_pages = sum(
        r.output_path.endswith(".html") and r.kind is not RouteKind.REDIRECT for r in site.routes
    )
    required = check_requirements(site)
    discovered = kept.sources.problems if kept.sources is not None else ()
    fixed = (*discovered, *model.problems, *cms_outputs(config).problems, *required)
    remember_published(
        kept,
        None,
        config,
        inputs,
        site,
        staged_bodies,
        images.value,
        pages,
        (*fixed, *images.problems),
        tuple(required),
    )


def _prepare_saves(published: Published, environment: RecordingEnvironment) -> None:
    """Make now what the first save would otherwise make while the editor waits: which
    pages read which body, and the templates compiled in this process (a first build
    compiles them in its workers)."""
    from jinja2 import TemplateError

    published.readers_of(())
    published.placed()
    for name in environment.list_templates():
        if not name.startswith(f"{ASSETS_DIR}/"):
            with contextlib.suppress(TemplateError):  # the build that renders it reports it
                environment.get_template(name)


def _same_model(site: Site, other: Site | None) -> bool:
    """``other`` is ``site`` as ``resident.known_model`` gives it again: the same items,
    routes and window of "now"."""
    return (
        other is not None
        and other.items is site.items
        and other.routes is site.routes
        and other.next_change == site.next_change
    )


def prepare_saves(config: SiteConfig, *, out_dir: Path, resident: Resident) -> None:
    """After a start that built: what the first save would otherwise do while the editor
    waits (``_prepare_saves``, and a staging folder that holds the published site: a
    first build renames its staging folder into place). A second or two of a start
    that took minutes; a start that found nothing changed goes through ``prepare`` and
    ``stage_published`` while idle instead."""
    kept = resident.kept
    if kept.published is not None and kept.environment is not None:
        _prepare_saves(kept.published, kept.environment[1])
    stage_published(config, out_dir=out_dir, resident=resident, limit=None)


def stage_published(
    config: SiteConfig, *, out_dir: Path, resident: Resident, limit: int | None
) -> bool:
    """Place up to ``limit`` files of the published tree of ``out_dir`` in its staging
    folder (``TreeWriter.stage_published``); True when staging holds it all. The preview
    does this in steps while idle after its start: a first build leaves no staging
    folder, and its first save would otherwise link every file of the site."""
    work_dir = config.root / CACHE_DIR_NAME
    try:
        with site_lock(work_dir):
            writer = TreeWriter(out_dir, work_dir, resident.tree)
            try:
                return writer.stage_published(limit)
            finally:
                writer.abort()
    except (OSError, BuildFailed):
        return True  # the next build places what it needs, and reports what is wrong


def save_bodies(
    config: SiteConfig,
    options: BuildOptions,
    cache: BuildCache,
    writer: TreeWriter,
    kept: Kept,
    changed: Collection[Path],
    timer: _Timer,
) -> BuildResult | None:
    """The preview's save of Markdown files whose front matter is as before (issue 15).

    Then the model is the last one but for those bodies, and a page can differ from
    what is published only if it reads one of them (render/pages.py, the text-only
    shortcut): those pages are rendered again, with the feeds, and every other file
    of the published tree stays as it is (resident.py ``Published``), where a whole
    build would walk 30,000 routes and 40,000 files to find the same. None when the
    save is anything else, or has an error or warning that the whole build must
    report; nothing has changed then, and the whole build runs.
    """
    from kldigital_site.markdown.bodies import render_item_bodies
    from kldigital_site.precompress import add_siblings
    from kldigital_site.render.pages import item_signatures, render_pages
    from kldigital_site.resident import with_documents

    last = kept.published
    if last is None or options.search_index or options.strict or not writer.recalled:
        return None
    now, site = options.now, last.site
    if (
        kept.site is not site
        or last.config != config
        or last.target_key != str(options.target.absolute())
        or now < site.now
        or (site.next_change is not None and now >= site.next_change)
    ):
        return None
    saved = _saved_sources(config, kept, changed)
    if not saved or _theme_digests(config) != last.theme:
        return None
    read = _read_saved(saved, kept.digests, site)
    if read is None:
        return None
    documents, stats, parse_problems = read
    timer.lap("parse")
    model = with_documents(
        site, {key: dataclasses.replace(doc, body=None) for key, doc in documents.items()}, now
    )
    staged_bodies = render_item_bodies(model, cache, last.bodies, documents.values())
    bodies = staged_bodies.value
    if any(p.is_error for p in staged_bodies.problems) or any(
        bodies.items[key].images != last.bodies.items[key].images for key in documents
    ):
        return None  # an error to report, or other images to process (media/)
    timer.lap("markdown")
    signatures = dict(last.signatures)
    for key in documents:
        signatures.update(item_signatures(key, bodies.items[key], kept.summaries))
    changed_reads = {
        name
        for key in documents
        for name in (f"body:{key}", f"summary:{key}")
        if signatures[name] != last.signatures.get(name)
    }
    routes = routes_reading(last.placed(), last.readers_of(changed_reads))
    if routes is None:
        return None
    results = list(
        render_pages(
            model,
            bodies,
            _environment(model, last.theme, kept, cache),
            previous=last.records,
            on_disk=writer.previous_digests,
            jobs=options.jobs,
            media=last.images,
            precompress=options.precompress,
            routes=routes,
        )
    )
    if any(result.problems for result in results):
        return None
    timer.lap("render")

    # The save goes through: what is kept describes it from here on.
    kept.published = None
    pages = _Pages(
        records=dict(last.records),
        model_key=last.model_key,
        signatures=signatures,
        frame_key=last.frame_key,
        structure=last.structure,
        heads=last.heads,
        untemplated_key=last.untemplated_key,
        templates=last.templates,
    )
    pages.html_pages = last.html_pages
    for result in results:
        if result.record is not None:
            pages.records[result.path] = result.record
        if result.data is not None or result.same_bytes:
            pages.rendered.add(result.path)
        if result.examined:
            pages.examined.add(result.path)
        writer.add(result.path, digest=result.digest, data=result.data)
        if options.precompress:
            add_siblings(writer, result.path, result.data, result.siblings)
    writer.add_unchanged()
    digests = {**kept.digests, **{doc.rel_path: doc.digest for doc in documents.values()}}
    cache.store_source_digests(stats, digests)
    cache.store_documents(model.items[key].doc for key in documents)
    kept.digests, kept.site = digests, model
    for key in documents:
        kept.bodies.pop(last.bodies.items[key].key, None)
        kept.bodies[bodies.items[key].key] = bodies.items[key]
    report = writer.commit()
    timer.lap("write")
    if options.on_published is not None:
        options.on_published(report)
    item_problems = tuple(p for info in bodies.items.values() for p in info.problems)
    inputs = _Inputs(
        digests=digests,
        raws={},
        theme=last.theme,
        key=_key(config, last.theme, *sorted(digests.items())),
        target_key=last.target_key,
        last=None,
        previous=last.records,
    )
    replayed = (*last.required, *last.other_bodies, *item_problems)
    # Worked out by the commit from the published tree's key (output.py ``tree_key``).
    published = writer.planned_tree_key
    _store_build(cache, inputs, model, pages, published, replayed, now, False)
    last.site, last.bodies, last.signatures = model, bodies, signatures
    last.record(pages.records)
    kept.published = last
    problems = Problems()
    problems.add((*last.problems, *last.other_bodies, *parse_problems, *item_problems))
    work = _Work(frozenset(doc.rel_path for doc in documents.values()), bodies.rendered)
    return _result(model, pages, report, problems, timer, last.images, work)


def _saved_sources(
    config: SiteConfig, kept: Kept, changed: Collection[Path]
) -> list[SourceFile] | None:
    """The known Markdown files among the paths a watcher saw change; None when any is
    something else (a data file, a picture, settings, a file added or renamed)."""
    from kldigital_site.resident import source_locations

    content_dir = config.content_dir.resolve()
    if kept.sources is None or kept.content_dir != content_dir:
        return None
    locations = source_locations(kept)
    saved = []
    for path in changed:
        if not path.is_relative_to(content_dir):
            continue  # a template or theme file: every theme file is compared anyway
        source = locations.get(str(path))
        if source is None or source.kind not in _MARKDOWN_KINDS:
            return None
        saved.append(source)
    return saved


_MARKDOWN_KINDS = frozenset({SourceKind.PROJECT, SourceKind.PRESS, SourceKind.PAGE})


def _read_saved(
    saved: list[SourceFile], digests: Mapping[str, str], site: Site
) -> tuple[dict[str, Document], dict[str, tuple[str, str]], list[SiteError]] | None:
    """The new documents of the saved files, by item key, with the stats worth
    remembering (``_read_sources``) and their parsing's warnings. None unless each one
    reads, parses without error and has the front matter of the item it was."""
    documents: dict[str, Document] = {}
    stats: dict[str, tuple[str, str]] = {}
    problems: list[SiteError] = []
    started = time.time_ns()
    for source in saved:
        try:
            info = os.stat(source.location)  # before reading: a later write changes it
            raw = source.path.read_bytes()
        except OSError:
            return None
        digest = digest_of(raw)
        if source.rel_path not in digests:
            return None
        if digest == digests[source.rel_path]:
            continue  # saved as it was
        staged = parse_source(source, raw)
        doc = staged.value
        if staged.has_errors or not isinstance(doc, Document):
            return None
        item = site.items.get(doc.content_path)
        if item is None or item.doc.head_digest != doc.head_digest:
            return None  # front matter: the model is made again (or a withheld file)
        documents[doc.content_path] = doc
        problems.extend(staged.problems)
        if started - max(info.st_mtime_ns, info.st_ctime_ns) > _RACY_NS:
            stat = f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}"
            stats[source.rel_path] = (stat, digest)
    return (documents, stats, problems) if documents else None


def routes_reading(placed: PlacedRoutes, readers: Iterable[str]) -> list[Route] | None:
    """The routes to render again when some body signatures changed, in the order of a
    whole build: the pages that read them (``readers``, by output path) and the
    generated files that may. None when a reader is no route of the site."""
    from kldigital_site.render.pages import render_order

    by_path, generated = placed
    found = list(generated)
    for path in readers:
        route = by_path.get(path)
        if route is None:
            return None
        found.append(route)
    found.sort(key=lambda entry: entry[0])
    return render_order([route for _, route in found])


def remember_published(
    kept: Kept,
    last: Published | None,
    config: SiteConfig,
    inputs: _Inputs,
    site: Site,
    staged_bodies: Staged[Bodies],
    images: Media,
    pages: _Pages,
    problems: tuple[SiteError, ...],
    required: tuple[SiteError, ...],
) -> None:
    """What a save of bodies starts from (``save_bodies``)."""
    from kldigital_site.resident import Published, follow

    bodies = staged_bodies.value
    of_items = Counter(p for info in bodies.items.values() for p in info.problems)
    other_bodies = tuple((Counter(staged_bodies.problems) - of_items).elements())
    published = Published(
        config=config,
        target_key=inputs.target_key,
        theme=inputs.theme,
        site=site,
        bodies=bodies,
        images=images,
        model_key=pages.model_key,
        signatures=pages.signatures,
        frame_key=pages.frame_key,
        structure=pages.structure,
        heads=pages.heads,
        untemplated_key=pages.untemplated_key,
        templates=pages.templates,
        records=pages.records,
        html_pages=pages.html_pages,
        problems=problems,
        required=required,
        other_bodies=other_bodies,
    )
    kept.published = follow(last, published)
