"""Render every route, skipping those whose inputs did not change.

Input: ``Site``, ``Bodies``, the Jinja environment, what the previous build
recorded per output file (``PageRecord``: fingerprint, templates loaded,
digest) and the digests of the files now in the output folder. Output: one
``PageResult`` per route, detail pages first — new bytes, or "unchanged" with
the digest of the file that stays.

A page's fingerprint hashes the data its template receives (the view, with
bodies represented by their cache keys) plus every template file it loaded
last time, recorded through the Jinja environment rather than declared by hand
(Lektor ``_load_template``). A title change therefore re-renders exactly the
pages that show that title; a template change exactly the pages that loaded
it. Cold builds fan out over ``--jobs`` forked processes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from kldigital_site import feeds
from kldigital_site.bodies import Bodies
from kldigital_site.cache import PageRecord
from kldigital_site.errors import SiteError
from kldigital_site.model import Route, Site
from kldigital_site.render import (
    ASSETS_DIR,
    TEMPLATES,
    RecordingEnvironment,
    TemplateProblem,
    page_context,
    render_template,
)
from kldigital_site.views import Views, fingerprint_default
from kldigital_site.workers import run_parallel

SPECIAL_KINDS = frozenset({"feed", "sitemap", "robots"})


@dataclass(frozen=True, slots=True)
class PageResult:
    path: str
    digest: str
    data: bytes | None  # None: unchanged, the file of the previous build stays
    record: PageRecord | None
    error: SiteError | None = None


@dataclass(slots=True)
class _State:
    site: Site
    views: Views
    env: RecordingEnvironment
    previous: Mapping[str, PageRecord]
    on_disk: Mapping[str, str]  # output path → digest of the file there now
    template_digests: Mapping[str, str]
    salt: str


def template_digests(templates_dir: Path) -> dict[str, str]:
    """Digest of every template file (theme assets excluded), by template name."""
    digests = {}
    for path in sorted(templates_dir.rglob("*")):
        rel = path.relative_to(templates_dir).as_posix()
        if path.is_file() and not rel.startswith(f"{ASSETS_DIR}/"):
            digests[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def _fingerprint(state: _State, context_json: str, templates: tuple[str, ...]) -> str:
    digest = hashlib.sha256(state.salt.encode())
    digest.update(context_json.encode())
    for name in sorted(templates):
        digest.update(f"\0{name}:{state.template_digests.get(name, 'missing')}".encode())
    return digest.hexdigest()


def _render_route(state: _State, route: Route) -> PageResult:
    path = route.output_path
    if route.kind in SPECIAL_KINDS:
        # Cheap to make, so they are always made; only new bytes count as rendered.
        data = feeds.render_special(route.kind, state.site, state.views)
        digest = hashlib.sha256(data).hexdigest()
        return PageResult(path, digest, None if state.on_disk.get(path) == digest else data, None)
    context = page_context(state.views, route)
    context_json = json.dumps(
        context, default=fingerprint_default, sort_keys=True, ensure_ascii=False
    )
    previous = state.previous.get(path)
    if (
        previous is not None
        and state.on_disk.get(path) == previous.digest
        and _fingerprint(state, context_json, previous.templates) == previous.fingerprint
    ):
        return PageResult(path, previous.digest, None, previous)
    state.env.recorded = set()
    try:
        html = render_template(state.env, TEMPLATES[route.kind], context)
    except TemplateProblem as problem:
        return PageResult(path, "", None, None, problem.error)
    finally:
        recorded = tuple(sorted(state.env.recorded or ()))
        state.env.recorded = None
    data = html.encode("utf-8")
    digest = hashlib.sha256(data).hexdigest()
    record = PageRecord(_fingerprint(state, context_json, recorded), recorded, digest)
    return PageResult(path, digest, data, record)


def render_pages(
    site: Site,
    bodies: Bodies,
    env: RecordingEnvironment,
    *,
    previous: Mapping[str, PageRecord],
    on_disk: Mapping[str, str],
    jobs: int,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[PageResult]:
    """A ``PageResult`` for every route: detail pages first, then the rest, each in route order.

    Detail pages come first because the search index is built from them in a
    process of its own (search.py): it then works while the lists render.
    """
    state = _State(
        site=site,
        views=Views(site, bodies),
        env=env,
        previous=previous,
        on_disk=on_disk,
        template_digests=template_digests(site.config.templates_dir),
        salt=site.config.fingerprint(),
    )
    routes = sorted(site.routes, key=lambda route: route.item is None)  # stable
    total = len(routes)
    for done, result in enumerate(run_parallel(_render_route, state, routes, jobs), 1):
        if progress is not None:
            progress(done, total)
        yield result
