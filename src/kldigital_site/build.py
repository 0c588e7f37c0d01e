"""The only module that knows the order of the stages (MkDocs ``commands/build.py``).

Input: ``SiteConfig``, the time that counts as "now", and how to build (write
or only check, jobs, cache). Output: ``BuildResult`` or ``BuildFailed`` with
every problem of the first stage that had any. Gather everything, then write:
nothing reaches the output folder until the whole site has rendered without an
error, and then all of it at once (``output.TreeWriter``).

Incremental builds: the model is always rebuilt whole from all documents —
cheap, and where staleness bugs would otherwise come from. Only parsing (by
content hash), Markdown (by body and link targets) and rendering (by page
fingerprint, or by the text-only shortcut of render/pages.py) are skipped when their
inputs are unchanged. When no input changed at all (``_same_inputs``), the
build ends before parsing: there is no model to rebuild.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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
from kldigital_site.errors import BuildFailed, Severity, SiteError, sort_problems
from kldigital_site.markdown.bodies import render_bodies
from kldigital_site.model import Site, build_site
from kldigital_site.output import TreeWriter, WriteReport, file_digest
from kldigital_site.render.pages import LastBuild, body_signatures, render_pages, template_digests
from kldigital_site.render.templates import asset_files, copied_files, make_environment
from kldigital_site.search import indexer as search
from kldigital_site.search.shards import BUNDLE_DIR
from kldigital_site.workers import default_jobs, run_parallel

Progress = Callable[[str, int, int], None]


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
) -> BuildResult:
    """Build the site. ``search_index=False`` keeps the previous search index as it is
    (the dev server rebuilds it a moment after the page has reloaded)."""
    work_dir = config.root / CACHE_DIR_NAME
    if work_dir.exists() and not work_dir.is_dir():
        # Cache and staging folder live there; a file in the way is not ours to delete.
        message = "ist eine Datei; kldigital-site braucht hier einen Ordner (bitte umbenennen)."
        raise BuildFailed([SiteError(CACHE_DIR_NAME, 0, message)])
    # `check` writes nothing, not even the cache; it may still read it.
    cache = BuildCache(work_dir, read_only=not write) if use_cache else None
    try:
        return _build(
            config,
            now,
            write,
            strict,
            out_dir or config.output_dir,
            jobs or default_jobs(),
            cache,
            progress,
            search_index,
        )
    finally:
        if cache is not None:
            cache.close()


def _build(
    config: SiteConfig,
    now: dt.datetime,
    write: bool,
    strict: bool,
    target: Path,
    jobs: int,
    cache: BuildCache | None,
    progress: Progress | None,
    search_index: bool,
) -> BuildResult:
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        timings[stage] = time.perf_counter() - clock
        clock = time.perf_counter()

    writer = TreeWriter(target, config.root / CACHE_DIR_NAME) if write else None
    indexer: search.SearchIndexer | None = None
    try:
        discovery = discover(config.content_dir, config.root)
        warnings = [p for p in discovery.problems if not p.is_error]
        errors = [p for p in discovery.problems if p.is_error]
        digests, raws = _read_sources(discovery.sources, cache, errors)
        target_key = str(target.absolute())
        last = cache.last_build(target_key) if cache is not None and writer is not None else None
        theme = _theme_digests(config)
        inputs_key = _key(config, theme, search_index, *sorted(digests.items()))
        if (
            not errors
            and writer is not None
            and last is not None
            and _same_inputs(last, inputs_key, now)
            and last.get("tree") == tree_key(writer.previous_digests)
            and _intact(writer)
        ):
            # Every source byte for byte as last time, no embargo ended since, the
            # output as the last build left it: the same model, the same site. Nothing
            # is parsed or rendered; the output stays untouched.
            return _unchanged(writer, last, warnings, strict, timings)
        documents, data_files, media = _parse_all(
            discovery.sources, digests, raws, cache, jobs, errors
        )
        del raws
        lap("parse")
        if errors:
            raise BuildFailed(errors)

        site_or_errors = build_site(config, documents, data_files, media, asset_files(config), now)
        if isinstance(site_or_errors, list):
            raise BuildFailed(site_or_errors)
        site = site_or_errors
        lap("model")

        model_key = _model_key(site, theme, digests, documents)

        bodies = render_bodies(site, cache, jobs)
        body_warnings = [p for p in bodies.problems if not p.is_error]
        body_errors = [p for p in bodies.problems if p.is_error]
        if body_errors:
            raise BuildFailed(body_errors)
        warnings.extend(body_warnings)
        signatures = body_signatures(bodies)
        lap("markdown")

        # `check` renders every page: it must find every template error.
        previous = cache.pages(target_key) if cache is not None and writer is not None else {}
        last_build = _last_build(last, previous)
        on_disk = writer.previous_digests if writer is not None else {}
        records: dict[str, PageRecord] = {}
        rendered: set[str] = set()
        examined: set[str] = set()
        template_errors: list[SiteError] = []
        html_pages = 0
        # Pagefind indexes in its own process while the pages render (search/indexer.py).
        if writer is not None and search_index:
            indexer = search.SearchIndexer(site, use_cache=cache is not None)
        for result in render_pages(
            site,
            bodies,
            make_environment(config),
            previous=previous,
            on_disk=on_disk,
            jobs=jobs,
            progress=(lambda done, total: progress("render", done, total)) if progress else None,
            model_key=model_key,
            signatures=signatures,
            last=last_build,
        ):
            if result.error is not None:
                template_errors.append(result.error)
                continue
            html_pages += result.path.endswith(".html")
            if result.record is not None:
                records[result.path] = result.record
            if result.data is not None:
                rendered.add(result.path)
            if result.examined:
                examined.add(result.path)
            if writer is not None:
                writer.add(result.path, digest=result.digest, data=result.data)
            if writer is not None and indexer is not None:
                # A reader of the staged copy, not the bytes: the indexer must not
                # hold every page; it reads only those of shards that changed.
                indexer.add(result.path, result.digest, writer.staged_reader(result.path))
        if indexer is not None:
            indexer.seal()
        if template_errors:
            raise BuildFailed(template_errors)
        lap("render")
        _fail_if_strict(strict, warnings)

        if writer is None:
            return BuildResult(
                site,
                html_pages,
                None,
                sort_problems(warnings),
                frozenset(rendered),
                frozenset(examined),
                timings,
                site.next_change,
            )
        for output in copied_files(site):
            writer.add_output(output)
        if indexer is not None:
            for output in indexer.finish():
                writer.add_output(output)
        else:
            for path, digest in writer.previous_digests.items():
                if path.startswith(f"{BUNDLE_DIR}/"):
                    writer.add(path, digest=digest)
        lap("search")
        report = writer.commit()
        published = tree_key(writer.planned_digests)
        writer = None
        lap("write")
    except BaseException:
        if writer is not None:
            writer.abort()
        if indexer is not None:
            indexer.abort()
        raise

    if cache is not None:
        cache.store_build(
            target_key,
            records,
            {
                **_time_window(inputs_key, site, now),
                "model": model_key,
                "bodies": signatures,
                "tree": published,
                "warnings": [[w.path, w.line, w.message, w.severity.value] for w in body_warnings],
            },
            previous or None,
        )
    return BuildResult(
        site,
        html_pages,
        report,
        sort_problems(warnings),
        frozenset(rendered),
        frozenset(examined),
        timings,
        site.next_change,
    )


def _fail_if_strict(strict: bool, warnings: list[SiteError]) -> None:
    if strict and warnings:
        raise BuildFailed(
            SiteError(w.path, w.line, f"{w.message} (--strict: Warnungen gelten als Fehler)")
            for w in warnings
        )


def tree_key(digests: Mapping[str, str]) -> str:
    """What is published, as one hash: the cache's last build must be what output/ holds
    (a build with --no-cache, or another tool version, may have written it since)."""
    return hashlib.sha256(json.dumps(sorted(digests.items())).encode()).hexdigest()


def _intact(writer: TreeWriter) -> bool:
    """The published files are all still there, unchanged (nobody deleted or edited any)."""
    return bool(writer.previous_digests) and writer.intact


def _theme_digests(config: SiteConfig) -> list[tuple[str, str]]:
    """Every template and theme asset with its digest."""
    assets = config.templates_dir / "assets"
    return [
        *sorted(template_digests(config.templates_dir).items()),
        *((name, file_digest(assets / name)) for name in asset_files(config)),
    ]


def _key(config: SiteConfig, theme: list[tuple[str, str]], *parts: Any) -> str:
    """One digest of the tool's code, the settings, the theme and ``parts``."""
    digest = hashlib.sha256()
    for part in (tool_fingerprint(), config.fingerprint(), config.base_url, *theme, *parts):
        digest.update(repr(part).encode())
    return digest.hexdigest()


def _model_key(
    site: Site, theme: list[tuple[str, str]], digests: Mapping[str, str], documents: list[Document]
) -> str:
    """Everything the model and so the views follow from, bodies left out (render/pages.py).

    A Markdown file counts by its head (path and front matter): the body reaches
    views only through ``Bodies``, which render/pages.py compares body by body.
    """
    heads = {doc.rel_path: doc.head_digest for doc in documents}
    return _key(
        site.config,
        theme,
        *sorted((path, heads.get(path, digest)) for path, digest in digests.items()),
        *sorted((key, item.is_draft, item.is_future) for key, item in site.items.items()),
    )


def _last_build(
    last: Mapping[str, Any] | None, previous: Mapping[str, PageRecord]
) -> LastBuild | None:
    """The previous build's inputs, if they describe the page records there are."""
    if not last or not previous:
        return None
    model, bodies = last.get("model"), last.get("bodies")
    if not isinstance(model, str) or not isinstance(bodies, dict):
        return None
    return LastBuild(model, {str(k): str(v) for k, v in bodies.items()})


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


def _unchanged(
    writer: TreeWriter,
    last: Mapping[str, Any],
    warnings: list[SiteError],
    strict: bool,
    timings: dict[str, float],
) -> BuildResult:
    """The result of a build that leaves the output as it is."""
    writer.abort()
    warnings.extend(SiteError(p, ln, m, Severity(s)) for p, ln, m, s in last.get("warnings", []))
    _fail_if_strict(strict, warnings)
    unchanged = tuple(sorted(writer.previous_digests))
    pages = sum(1 for p in unchanged if p.endswith(".html"))
    until = last.get("next_change")
    return BuildResult(
        None,
        pages,
        WriteReport((), unchanged, ()),
        sort_problems(warnings),
        timings=timings,
        next_change=dt.datetime.fromisoformat(until) if isinstance(until, str) else None,
    )


def _parse_task(_: None, task: tuple[SourceFile, bytes]) -> Document | DataFile | list[SiteError]:
    return parse_source(*task)


# A file whose modification time is this close to the moment it was hashed might be
# written again within the same timestamp tick: its stat is not remembered (git's
# "racily clean" entries).
_RACY_NS = 2_000_000_000


def _read_sources(
    sources: tuple[SourceFile, ...], cache: BuildCache | None, errors: list[SiteError]
) -> tuple[dict[str, str], dict[str, bytes]]:
    """The digest of every source, and the bytes of those the cache holds no document for.

    A file whose size, modification and change time and inode are those it had when
    last hashed is not read again (as git's index does): at 10,000 files reading and
    hashing them all was a third of a build that changes nothing. The change time
    cannot be set back by any tool, so an edit always shows.
    """
    known = cache.document_digests() if cache is not None else {}
    remembered = cache.source_digests() if cache is not None else {}
    digests: dict[str, str] = {}
    raws: dict[str, bytes] = {}
    fresh: dict[str, tuple[str, str]] = {}
    started = time.time_ns()
    for source in sources:
        try:
            info = os.stat(source.path)  # before reading: a later write changes it
            stat = f"{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}"
            hit = remembered.get(source.rel_path)
            if hit is not None and hit[0] == stat and source.kind is not SourceKind.DATA:
                digests[source.rel_path] = hit[1]
                continue
            raw = source.path.read_bytes()
        except OSError as exc:
            errors.append(SiteError(source.rel_path, 0, f"Datei nicht lesbar: {exc.strerror}"))
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
    return digests, raws


def _parse_all(
    sources: tuple[SourceFile, ...],
    digests: Mapping[str, str],
    raws: Mapping[str, bytes],
    cache: BuildCache | None,
    jobs: int,
    errors: list[SiteError],
) -> tuple[list[Document], list[DataFile], list[SourceFile]]:
    cached = cache.documents() if cache is not None else {}
    documents: list[Document] = []
    data_files: list[DataFile] = []
    media: list[SourceFile] = []
    to_parse: list[tuple[SourceFile, bytes]] = []
    for source in sources:
        digest = digests.get(source.rel_path)
        if digest is None:
            continue  # unreadable: reported by _read_sources
        if source.kind is SourceKind.MEDIA:
            media.append(source)
            continue
        hit = cached.get(source.rel_path)
        if hit is not None and hit[0] == digest and source.kind is not SourceKind.DATA:
            documents.append(hit[1])
            continue
        raw = raws.get(source.rel_path)
        if raw is None:
            # Its cached document did not pass the checksum after all: read it again.
            raw = _read_again(source, digest, errors)
            if raw is None:
                continue
        to_parse.append((source, raw))
    fresh: list[Document] = []
    for parsed in run_parallel(_parse_task, None, to_parse, jobs):
        if isinstance(parsed, list):
            errors.extend(parsed)
        elif isinstance(parsed, DataFile):
            data_files.append(parsed)
        else:
            # The body is read again when it is rendered (markdown/bodies.py, which checks the
            # digest): 10,000 bodies held from here on were ~100 MB of a cold build's peak.
            fresh.append(dataclasses.replace(parsed, body=None))
    del to_parse
    documents.extend(fresh)
    documents.sort(key=lambda d: d.content_path)
    data_files.sort(key=lambda d: d.content_path)
    if cache is not None:
        cache.store_documents(fresh)
        cache.forget_documents_except(s.rel_path for s in sources)
    return documents, data_files, media


def _read_again(source: SourceFile, digest: str, errors: list[SiteError]) -> bytes | None:
    try:
        raw = source.path.read_bytes()
    except OSError as exc:
        errors.append(SiteError(source.rel_path, 0, f"Datei nicht lesbar: {exc.strerror}"))
        return None
    if digest_of(raw) != digest:
        errors.append(SiteError(source.rel_path, 0, CHANGED_DURING_BUILD))
        return None
    return raw
