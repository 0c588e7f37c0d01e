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
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kldigital_site.cache import CacheMemory
from kldigital_site.content.discover import SourceFile
from kldigital_site.content.parse import Document
from kldigital_site.errors import SiteError, Staged
from kldigital_site.markdown.bodies import BodyInfo
from kldigital_site.model import Site
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

    def forget(self) -> None:
        self.content_dir = self.sources = self.site = self.environment = None
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
    # By location, a plain string: a ``Path`` for each of 10,000 sources was a third of
    # a save's rebuild at 10,000 items (issue 15). Both are absolute and normalised.
    by_location = {source.location: source for source in kept.sources.value}
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


def remember_sources(
    kept: Kept, content_dir: Path, sources: Staged[tuple[SourceFile, ...]]
) -> None:
    kept.content_dir, kept.sources = content_dir, sources


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
            swapped[item_key] = dataclasses.replace(item, doc=doc)
    items = {k: swapped.get(k, item) for k, item in site.items.items()} if swapped else site.items
    # Kept in its place: the replaced documents are not held on to.
    kept.site = dataclasses.replace(site, items=items, now=now)
    return Staged(kept.site, kept.model_problems)


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
