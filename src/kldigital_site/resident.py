"""What a long-running process (the preview) keeps between its builds of one output folder.

Input: what one build made (the sources found, the model, the bodies' summaries, the
Jinja environment) and, for the next build, the paths the watcher saw change.
Output: the same values again when the next build's inputs show they still hold,
so that a save costs the stages of what it changed (issue 15), never a different
site: every value is reused only under a key of everything it follows from.

* ``sources``: a save that only modified files discovery already knows needs no
  walk of ``content/``, and the files the watcher did not report need no ``stat``
  (``changed``: the watcher's paths; ``None``: unknown, everything is looked at).
* the model: it follows from the documents' heads (path and front matter), the
  data files, the media, the theme's files and the settings; when those are as last
  time and no item changed sides of "now", a body edit needs no new model — the
  last one with the new documents put in (``Document.head_digest``).
* the bodies' summaries: valid while the model they were checked against (link
  targets, download labels) is the same.
* the Jinja environment with its compiled templates: valid while no template,
  theme file or setting it reads changed.
* the digests of the bodies' first paragraphs (their summaries on cards): valid
  while the paragraph is the same, compared each time.
* what the last build published (``Published``): its page records, the bodies'
  signatures they were checked against, and which pages read each signature. A
  save that changed bodies only then re-renders the pages that read them and
  publishes those files beside the rest as they are (resident_build.py ``save_bodies``),
  instead of walking 30,000 routes and 40,000 files. It is valid only for the
  model, bodies, theme, settings and output folder it was made with, which
  build.py checks before every use; any build that goes another way drops it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kldigital_site.cache import CacheMemory, PageRecord
from kldigital_site.config import SiteConfig
from kldigital_site.content.discover import SourceFile
from kldigital_site.content.parse import Document
from kldigital_site.errors import SiteError, Staged
from kldigital_site.markdown.bodies import Bodies, BodyInfo
from kldigital_site.media.pipeline import Media
from kldigital_site.model import Route, RouteKind, Site
from kldigital_site.output import TreeMemory
from kldigital_site.render.templates import RecordingEnvironment


@dataclass(slots=True)
class Kept:
    """The values of the last build (module docstring), each with what it was made from."""

    content_dir: Path | None = None
    sources: Staged[tuple[SourceFile, ...]] | None = None
    digests: Mapping[str, str] = field(default_factory=dict)  # of the sources, as last read
    model_key: str = ""
    site: Site | None = None
    model_problems: tuple[SiteError, ...] = ()
    bodies: dict[str, BodyInfo] = field(default_factory=dict)  # by body key, for ``model_key``
    environment: tuple[str, RecordingEnvironment] | None = None
    # The digest of each body's first paragraph, with the paragraph (render/pages.py
    # ``body_signatures``): valid for as long as the paragraph is the same.
    summaries: dict[str, tuple[str, str]] = field(default_factory=dict)
    # ``sources`` by location (``known_sources``), made once for each discovery.
    locations: dict[str, SourceFile] = field(default_factory=dict)
    published: Published | None = None

    def forget(self) -> None:
        self.content_dir = self.sources = self.site = self.environment = None
        self.published = None
        self.locations = {}
        self.model_key = ""
        self.model_problems = ()
        self.bodies = {}
        self.summaries = {}
        self.digests = {}


@dataclass(frozen=True, slots=True)
class Resident:
    """What the preview keeps between its builds: the cache's rows as Python values and
    what the last commit left on disk (``CacheMemory``, ``TreeMemory``), and the values
    of ``Kept``. The stages and their order stay those of every build."""

    cache: CacheMemory = field(default_factory=CacheMemory)
    tree: TreeMemory = field(default_factory=TreeMemory)
    kept: Kept = field(default_factory=Kept)


def known_sources(
    kept: Kept, content_dir: Path, changed: Collection[Path] | None
) -> tuple[Staged[tuple[SourceFile, ...]] | None, Mapping[str, str] | None]:
    """The last build's sources, if ``changed`` only modified files among them, and the
    digests the last build read of those not changed (by site-relative path).

    Anything else — a file added, deleted or renamed, a folder moved, events the
    watcher could not attribute (``None``) — needs discovery again: ``(None, None)``.
    The digests are handed out once: a build that fails before reading them all
    leaves none for the next (``Kept.digests`` is set again after reading).
    """
    digests, kept.digests = kept.digests, {}
    if changed is None or kept.sources is None or kept.content_dir != content_dir:
        return None, None
    by_location = source_locations(kept)
    touched: set[str] = set()
    for path in changed:
        if not path.is_relative_to(content_dir):
            continue  # a template or theme file: read in full by every build anyway
        source = by_location.get(str(path))
        if source is None or not os.path.isfile(path):
            return None, None
        touched.add(source.rel_path)
    unchanged = {path: digest for path, digest in digests.items() if path not in touched}
    return kept.sources, unchanged


def source_locations(kept: Kept) -> Mapping[str, SourceFile]:
    """The kept sources by location, a plain string: a ``Path`` for each of 10,000 sources
    was a third of a save's rebuild at 10,000 items (issue 15). Both are absolute and
    normalised."""
    if not kept.locations and kept.sources is not None:
        kept.locations = {source.location: source for source in kept.sources.value}
    return kept.locations


def remember_sources(
    kept: Kept, content_dir: Path, sources: Staged[tuple[SourceFile, ...]]
) -> None:
    kept.content_dir, kept.sources, kept.locations = content_dir, sources, {}


def known_model(
    kept: Kept, key: str, documents: list[Document], now: dt.datetime
) -> Staged[Site] | None:
    """The last model with ``documents`` in place of its items' documents, if ``key``
    (everything but the bodies, build.py) is the last one's and no item changed sides
    of "now" since: the same inputs give the same site (build.py's no-change shortcut)."""
    site = kept.site
    if site is None or key != kept.model_key:
        return None
    if now < site.now or (site.next_change is not None and now >= site.next_change):
        return None
    new_docs = {doc.content_path: doc for doc in documents}
    swapped = {}
    for item_key, item in site.items.items():
        doc = new_docs.get(item.doc.content_path)
        if doc is None:
            return None  # cannot happen with the same key; never guess
        if doc.digest != item.doc.digest:  # the same bytes parse to the same document
            swapped[item_key] = doc
    # Kept in its place: the replaced documents are not held on to.
    kept.site = with_documents(site, swapped, now)
    return Staged(kept.site, kept.model_problems)


def with_documents(site: Site, documents: Mapping[str, Document], now: dt.datetime) -> Site:
    """``site`` with the items ``documents`` names (by item key) given those documents:
    their heads are as before, so the model is the same but for the bodies."""
    items = site.items
    if documents:
        items = dict(items)
        for key, doc in documents.items():
            items[key] = items[key]._replace(doc=doc)
    return dataclasses.replace(site, items=items, now=now)


def remember_model(kept: Kept, key: str, model: Staged[Site] | None) -> None:
    """Keep a model that had no errors (a failed one is made again next time)."""
    if model is None or model.has_errors:
        kept.model_key, kept.site, kept.model_problems, kept.bodies = "", None, (), {}
        return
    if key != kept.model_key:
        kept.bodies = {}
    kept.model_key, kept.site, kept.model_problems = key, model.value, model.problems


def known_bodies(kept: Kept, key: str) -> Mapping[str, BodyInfo] | None:
    return kept.bodies if kept.site is not None and key == kept.model_key else None


def remember_bodies(kept: Kept, key: str, infos: Collection[BodyInfo]) -> None:
    """The summaries made for the model of ``key``; those with errors are made again
    (an error may be passing: a file saved while it was read)."""
    if key == kept.model_key and kept.site is not None:
        kept.bodies = {
            info.key: info for info in infos if not any(p.is_error for p in info.problems)
        }


# Generated files made from the model and the settings alone, never from a body: the
# sitemap and robots.txt (render/feeds.py), the redirects (render/redirects.py).
_FROM_MODEL_ALONE = frozenset(
    {
        RouteKind.SITEMAP,
        RouteKind.ROBOTS,
        RouteKind.REDIRECT,
        RouteKind.NGINX_RULES,
        RouteKind.APACHE_RULES,
    }
)


# Every route by output path, and the generated files (no page record, made on every
# build) that may show a body, each with its place in ``site.routes``.
PlacedRoutes = tuple[dict[str, tuple[int, Route]], list[tuple[int, Route]]]


def placed_routes(site: Site) -> PlacedRoutes:
    """The routes of ``site`` as an edit of bodies looks them up (``PlacedRoutes``): the
    generated files are all but those made from the model alone."""
    by_path = {r.output_path: (i, r) for i, r in enumerate(site.routes)}
    generated = [
        (i, route)
        for i, route in enumerate(site.routes)
        if route.kind.is_generated_file and route.kind not in _FROM_MODEL_ALONE
    ]
    return by_path, generated


@dataclass(slots=True)
class Published:
    """What the last build published and everything it was made from (module docstring).

    ``site``, ``bodies``, ``signatures`` and ``records`` belong together: the records
    are those of the pages as rendered from that site with those bodies, and the
    output folder holds exactly those files (``TreeMemory``)."""

    config: SiteConfig
    target_key: str
    theme: list[tuple[str, str]]
    site: Site
    bodies: Bodies
    images: Media
    model_key: str  # what the pages were made from but the bodies (build.py ``_Pages``)
    signatures: dict[str, str]  # render/pages.py ``body_signatures``
    frame_key: str  # the model but the items' front matter (build.py ``_frame_key``)
    heads: dict[str, str]  # item key → its front matter's digest
    records: dict[str, PageRecord]
    html_pages: int
    # Replayed by a save: warnings that follow from the model, media, settings and
    # theme (everything but the bodies and the files parsed), and those of the law.
    problems: tuple[SiteError, ...]
    required: tuple[SiteError, ...]
    # The problems of the bodies that are no item's: boilerplates, withheld documents.
    other_bodies: tuple[SiteError, ...]
    # ``model_key`` with the template files left out, and their digests (build.py ``_Pages``).
    untemplated_key: str = ""
    templates: Mapping[str, str] = field(default_factory=dict)
    structure: str = ""  # the model's ``structure_digest`` (build.py ``_Pages``)
    # The pages that read each signature (``PageRecord.reads``), and every route by
    # output path with its place in ``site.routes``: made when first needed. Tuples, not
    # sets: 34,000 of them at 10,000 items, most of one or two pages (14 MB as sets).
    readers: dict[str, tuple[str, ...]] | None = None
    routes: PlacedRoutes | None = None

    def readers_of(self, names: Collection[str]) -> set[str]:
        """The output paths of the pages that read any of ``names``."""
        if self.readers is None:
            lists: dict[str, list[str]] = {}
            for path, record in self.records.items():
                for name in record.reads:
                    lists.setdefault(name, []).append(path)
            self.readers = {name: tuple(paths) for name, paths in lists.items()}
        found: set[str] = set()
        for name in names:
            found.update(self.readers.get(name, ()))
        return found

    def placed(self) -> PlacedRoutes:
        """Every route by output path and the generated files that may show a body, each
        with its place in ``site.routes`` (``placed_routes``), made once."""
        if self.routes is None:
            self.routes = placed_routes(self.site)
        return self.routes

    def record(self, records: dict[str, PageRecord]) -> None:
        """The records of a build that started from these, brought into ``readers``: the
        pages rendered again, the few whose reads differ (a loop over the records
        without a call for the others, which carry their very record)."""
        old = self.records
        readers = self.readers
        if readers is not None:
            for path, record in records.items():
                before = old.get(path)
                if before is record or (before is not None and before.reads == record.reads):
                    continue
                for name in before.reads if before is not None else ():
                    _leave(readers, name, path)
                for name in record.reads:
                    readers[name] = (*_leave(readers, name, path), path)
            for path in old.keys() - records.keys():
                for name in old[path].reads:
                    _leave(readers, name, path)
        self.records = records


def _leave(readers: dict[str, tuple[str, ...]], name: str, path: str) -> tuple[str, ...]:
    """The readers of ``name`` without ``path`` (a page whose reads changed or is gone)."""
    paths = readers.get(name, ())
    if path in paths:
        paths = readers[name] = tuple(p for p in paths if p != path)
    return paths


def follow(last: Published | None, published: Published) -> Published:
    """``published``, taking over what ``last`` worked out of records and routes that are
    still the same (the index build after every save re-renders nothing)."""
    if last is None:
        return published
    if last.site.routes is published.site.routes:
        published.routes = last.routes
    if last.readers is not None:
        records = published.records
        published.records, published.readers = last.records, last.readers
        published.record(records)
    return published
