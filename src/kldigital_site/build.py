"""The only module that knows the order of the stages (MkDocs ``commands/build.py``).

Input: ``SiteConfig``, the time that counts as "now", and whether to write.
Output: ``BuildResult`` or ``BuildFailed`` with every problem of the first stage
that had any. Gather everything, then write: nothing touches the output folder
until the whole site has rendered without an error.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from pathlib import Path

from kldigital_site.bodies import render_bodies
from kldigital_site.config import SiteConfig
from kldigital_site.content.discover import SourceFile, SourceKind, discover
from kldigital_site.content.parse import DataFile, Document, parse_source
from kldigital_site.errors import BuildFailed, SiteError, sort_problems
from kldigital_site.markup import MarkdownRenderer
from kldigital_site.model import Site, build_site
from kldigital_site.output import WriteReport, check_output_dir, write_tree
from kldigital_site.render import asset_files, make_environment, render_site


@dataclass(frozen=True, slots=True)
class BuildResult:
    site: Site
    pages: int
    report: WriteReport | None
    warnings: list[SiteError]
    timings: dict[str, float] = field(default_factory=dict)


def build(
    config: SiteConfig,
    *,
    now: dt.datetime,
    write: bool = True,
    strict: bool = False,
    out_dir: Path | None = None,
) -> BuildResult:
    timings: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        timings[stage] = time.perf_counter() - clock
        clock = time.perf_counter()

    target = out_dir or config.output_dir
    if write:
        check_output_dir(target)

    discovery = discover(config.content_dir, config.root)
    warnings = [p for p in discovery.problems if not p.is_error]
    errors = [p for p in discovery.problems if p.is_error]
    documents, data_files, media = _parse_all(discovery.sources, errors)
    lap("parse")
    if errors:
        raise BuildFailed(errors)

    site_or_errors = build_site(config, documents, data_files, media, asset_files(config), now)
    if isinstance(site_or_errors, list):
        raise BuildFailed(site_or_errors)
    site = site_or_errors
    lap("model")

    bodies = render_bodies(site, MarkdownRenderer(iframe_hosts=config.iframe_hosts))
    warnings.extend(p for p in bodies.problems if not p.is_error)
    body_errors = [p for p in bodies.problems if p.is_error]
    if body_errors:
        raise BuildFailed(body_errors)
    lap("markdown")

    outputs = list(render_site(site, bodies, make_environment(config)))
    lap("render")
    if strict and warnings:
        raise BuildFailed(
            SiteError(w.path, w.line, f"{w.message} (--strict: Warnungen gelten als Fehler)")
            for w in warnings
        )

    report = write_tree(outputs, target) if write else None
    lap("write")
    pages = sum(1 for o in outputs if o.path.endswith(".html"))
    return BuildResult(site, pages, report, sort_problems(warnings), timings)


def _parse_all(
    sources: tuple[SourceFile, ...], errors: list[SiteError]
) -> tuple[list[Document], list[DataFile], list[SourceFile]]:
    documents: list[Document] = []
    data_files: list[DataFile] = []
    media: list[SourceFile] = []
    for source in sources:
        if source.kind is SourceKind.MEDIA:
            media.append(source)
            continue
        try:
            raw = source.path.read_bytes()
        except OSError as exc:
            errors.append(SiteError(source.rel_path, 0, f"Datei nicht lesbar: {exc.strerror}"))
            continue
        parsed = parse_source(source, raw)
        if isinstance(parsed, list):
            errors.extend(parsed)
        elif isinstance(parsed, DataFile):
            data_files.append(parsed)
        else:
            documents.append(parsed)
    return documents, data_files, media
