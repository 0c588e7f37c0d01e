"""Markdown bodies of every published item, with links checked against the model.

Input: ``Site`` (its items, and the withheld documents whose links are only
checked), the optional ``BuildCache`` and the number of jobs. Output:
``Staged[Bodies]`` — per item and per boilerplate a ``BodyInfo`` (cache key,
plain first paragraph, problems) and a ``BodyStore`` that yields the HTML on
demand — with the problems of all bodies.
A link may name another content file by relative path
(``../projekte/dritte-orte.md``) or a site URL (``/projekte/dritte-orte/``);
both become paths under the base path, and one that points at nothing is an
error at the line of the link, with the page or file the editor probably meant
("Meinten Sie …?", ``link_advice``).

A body is rendered again only when its file changed or when one of its links
now resolves differently (a page moved or vanished); otherwise the cached result
is used, which is what keeps a one-file edit cheap.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from kldigital_site.accessibility.media_info import download_label
from kldigital_site.cache import BuildCache, tool_fingerprint
from kldigital_site.config import SiteConfig
from kldigital_site.content.parse import (
    BOILERPLATES_FILE,
    CHANGED_DURING_BUILD,
    Document,
    digest_of,
    load_body,
)
from kldigital_site.errors import Severity, SiteError, Staged, os_reason
from kldigital_site.markdown.renderer import (
    BodyImage,
    LinkAdvice,
    MarkdownRenderer,
    RenderedMarkdown,
)
from kldigital_site.media.uses import ImageUse
from kldigital_site.model import Site
from kldigital_site.suggestions import near_path
from kldigital_site.workers import run_parallel

LinkResolver = Callable[[str], str | None]


class BodyInfo(NamedTuple):
    """What a build keeps of a rendered body. A named tuple, not a frozen dataclass:
    every build takes 10,000 from the last one (markdown/kept.py), each in a quarter of
    a dataclass's time (issue 15)."""

    key: str
    first_paragraph: str
    problems: tuple[SiteError, ...]
    # The addresses its links resolved to: the same body renders to other HTML when a
    # page it links to moves, so pages showing it must be rendered again.
    links_digest: str = ""
    images: tuple[BodyImage, ...] = ()

    @property
    def version(self) -> str:
        return f"{self.key}:{self.links_digest}"


# Bodies a BodyStore keeps after reading them from the cache: a few hundred kilobytes.
_RECENT_BODIES = 32


class BodyStore:
    """HTML by body key: fresh renders from memory, the rest from the cache."""

    def __init__(
        self,
        fresh: Mapping[str, str],
        cache: BuildCache | None,
        render_again: Callable[[str], str] | None = None,
    ) -> None:
        self._fresh = dict(fresh)
        self._cache = cache
        self._render_again = render_again
        # The bodies read last, most recent at the end. A body is read by its page, its
        # .txt, its .eml and the feeds, a boilerplate by every release that has it: one
        # query of the cache each (a tenth of a millisecond) was 6,000 at 1,000 items.
        self._recent: dict[str, str] = {}
        # The bodies of the pages a render worker is about to make (``prefetch``).
        self._prefetched: dict[str, str] = {}

    def prefetch(self, keys: Iterable[str]) -> None:
        """Read the bodies of ``keys`` from the cache in one query, for the pages about
        to be rendered (render/pages.py ``_prefetch_bodies``); those read before go."""
        wanted = [k for k in keys if k not in self._fresh and k not in self._recent]
        cached = self._cache.bodies(wanted) if wanted and self._cache is not None else {}
        self._prefetched = cached

    def html(self, key: str) -> str:
        if key in self._fresh:
            return self._fresh[key]
        prefetched = self._prefetched.get(key)
        if prefetched is not None:
            return prefetched
        recent = self._recent.pop(key, None)
        if recent is not None:
            self._recent[key] = recent
            return recent
        cached = self._cache.body(key) if self._cache is not None else None
        if cached is not None:
            if len(self._recent) >= _RECENT_BODIES:
                del self._recent[next(iter(self._recent))]
            self._recent[key] = cached
            return cached
        # The summary was cached but the HTML is gone or damaged: never trusted, made anew.
        if self._render_again is None:
            raise LookupError(f"rendered body {key} is missing from the cache")
        html = self._fresh[key] = self._render_again(key)
        return html


@dataclass(frozen=True, slots=True)
class Bodies:
    items: Mapping[str, BodyInfo]
    boilerplates: Mapping[str, BodyInfo]
    store: BodyStore
    rendered: frozenset[str]  # item keys and boilerplate ids rendered in this build
    image_uses: tuple[ImageUse, ...] = ()  # images shown in bodies (media/pipeline.py)


def link_resolver(site: Site, content_path: str) -> LinkResolver:
    """Resolve link targets written in the file at ``content_path`` (relative to content/)."""
    base = site.config.base_path

    def resolve(target: str) -> str | None:
        path, _, query = target.partition("?")
        suffix = f"?{query}" if query else ""
        if path.startswith("/"):
            url = _known_url(site, path.lstrip("/"))
        else:
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(content_path), path))
            if joined.startswith("../") or joined == "..":
                return None
            url = site.url_of_content.get(joined)
            if url is None:
                url = _known_url(site, joined)
        return None if url is None else base + url + suffix

    return resolve


def link_advice(site: Site, content_path: str) -> LinkAdvice:
    """For a link target in the file at ``content_path`` that points at nothing: the
    page or file meant, written as the editor wrote the target (a site address, or
    relative to the file), or None."""
    folder = posixpath.dirname(content_path)

    def advise(target: str) -> str | None:
        path, mark, query = target.partition("?")
        # Documents by file, and every address: a link may name either.
        known = {*site.url_of_content, *site.file_urls, *site.route_urls, *site.withheld_urls}
        if path.startswith("/"):
            near = near_path(path.lstrip("/"), known)
            return None if near is None else f"/{near}{mark}{query}"
        wanted = posixpath.normpath(posixpath.join(folder, path))
        if wanted.startswith("../") or wanted == "..":
            return None
        near = near_path(wanted, known)
        if near is None:
            return None
        # In the editor's own form: "../projekte/x.md" stays that, not "x.md".
        climbed = ""
        while path[len(climbed) :].startswith("../"):
            climbed += "../"
        start = posixpath.normpath(posixpath.join(folder, climbed or "."))
        if start == ".":
            written = climbed + near
        elif near.startswith(f"{start}/"):
            written = climbed + near[len(start) + 1 :]
        else:
            written = posixpath.relpath(near, folder or ".") + ("/" if near.endswith("/") else "")
        return f"{written}{mark}{query}"

    return advise


def download_labeller(site: Site) -> Callable[[str], str | None]:
    """A resolved link's "PDF, 1,2 MB" when it is a download file in medien/."""
    base = site.config.base_path
    media = {m.content_path: m.path for m in site.media}

    def label(url: str) -> str | None:
        site_path = url.removeprefix(base).partition("?")[0].partition("#")[0]
        path = media.get(site_path)
        return download_label(path, site_path) if path is not None else None

    return label


def _known_url(site: Site, url: str) -> str | None:
    if url in ("", "index.html"):
        return ""
    if site.url_exists(url):
        return url
    if url.endswith("/index.html") and site.url_exists(url.removesuffix("index.html")):
        return url.removesuffix("index.html")
    if not url.endswith("/") and site.url_exists(url + "/"):
        return url + "/"
    return None


class _Task(NamedTuple):
    """One body to render or to take from the cache: 10,000 made on every build."""

    key: str
    path: str  # for messages
    first_line: int
    link_base: str  # content path the links are relative to
    text: str | None  # None: read the item's file
    item: str | None


# Rendered bodies written to the cache per transaction during a cold build.
_SPILL_BATCH = 256


def _body_key(*parts: str) -> str:
    return hashlib.sha256("\0".join((tool_fingerprint(), *parts)).encode()).hexdigest()


def _render_task(state: tuple[Site, dict[str, MarkdownRenderer]], task: _Task) -> dict[str, Any]:
    site, renderers = state
    # One renderer per process: each forked worker fills its own copy of the slot.
    renderer = renderers.get("renderer")
    if renderer is None:
        renderer = renderers["renderer"] = MarkdownRenderer(iframe_hosts=site.config.iframe_hosts)
    text = task.text
    if text is None and task.item is not None:
        item = site.items.get(task.item)
        doc = item.doc if item is not None else site.withheld[task.item]
        try:
            raw = site.config.content_dir.joinpath(doc.content_path).read_bytes()
        except OSError as exc:
            return _changed_during_build(task, f"Datei nicht mehr lesbar: {os_reason(exc)}")
        if digest_of(raw) != doc.digest:
            # Saved again since it was parsed: its text would not match its front matter.
            return _changed_during_build(task, CHANGED_DURING_BUILD)
        text = load_body(doc, raw)
    resolver = link_resolver(site, task.link_base)
    labeller = download_labeller(site)
    advice = link_advice(site, task.link_base)
    rendered: RenderedMarkdown = renderer.render(
        text or "",
        path=task.path,
        first_line=task.first_line,
        resolve_link=resolver,
        download_label=labeller,
        advise_link=advice,
    )
    resolved = {target: resolver(target) for target in rendered.links}
    return {
        "html": rendered.html,
        "first_paragraph": rendered.first_paragraph,
        "resolved": resolved,
        # The suggestions in the messages of broken links: a page added or renamed since
        # may be a better one.
        "advice": {t: advice(t) for t, url in resolved.items() if url is None},
        # Type and size shown in the links: a file that grows must show its new size.
        "downloads": {t: labeller(url) for t, url in resolved.items() if url and labeller(url)},
        "problems": [[p.path, p.line, p.message, p.severity.value] for p in rendered.problems],
        "images": [[i.url, i.alt, i.caption, i.credit, i.line] for i in rendered.images],
    }


def _changed_during_build(task: _Task, message: str) -> dict[str, Any]:
    return {
        "html": "",
        "first_paragraph": "",
        "resolved": {},
        "problems": [[task.path, 0, message, Severity.ERROR.value]],
        "images": [],
        "transient": True,  # never cached: the next build reads the file again
    }


def _still_valid(
    cached: Mapping[str, Any],
    resolver: LinkResolver,
    labeller: Callable[[str], str | None],
    advice: LinkAdvice,
) -> bool:
    resolved, downloads = cached.get("resolved"), cached.get("downloads", {})
    advised = cached.get("advice", {})
    if not isinstance(resolved, dict) or not isinstance(cached.get("first_paragraph"), str):
        return False
    if not isinstance(downloads, dict) or not isinstance(advised, dict):
        return False
    for target, url in resolved.items():
        now = resolver(target)
        if now != url or (now is not None and labeller(now) != downloads.get(target)):
            return False
        if now is None and advice(target) != advised.get(target):
            return False
    return True


def _info(key: str, payload: Mapping[str, Any]) -> BodyInfo:
    problems = tuple(
        SiteError(str(p[0]), int(p[1]), str(p[2]), Severity(p[3])) for p in payload["problems"]
    )
    links = json.dumps(
        [payload["resolved"], payload.get("downloads", {})], sort_keys=True, ensure_ascii=False
    )
    links_digest = hashlib.sha256(links.encode()).hexdigest()[:32]
    images = tuple(
        BodyImage(str(url), str(alt), caption, credit, int(line))
        for url, alt, caption, credit, line in payload.get("images", ())
    )
    return BodyInfo(key, str(payload["first_paragraph"]), problems, links_digest, images)


def render_bodies(
    site: Site,
    cache: BuildCache | None,
    jobs: int = 1,
    *,
    known: Mapping[str, BodyInfo] | None = None,
) -> Staged[Bodies]:
    """Every body of ``site``. ``known``: infos made earlier in this build, by body key
    (the second pass of ``check``, build.py); their bodies are not rendered again."""
    config = site.config
    settings = _settings(site.config)
    # Withheld documents (model.py) get no page, but their links are checked all the same.
    documents = [*(item.doc for item in site.items.values()), *site.withheld.values()]
    start = _key_start(settings)
    tasks = [_document_task(start, doc) for doc in documents]
    boilerplate_path = config.rel(config.content_dir / BOILERPLATES_FILE)
    boilerplate_keys: dict[str, str] = {}
    for ident, text in site.boilerplates.items():
        key = _body_key(settings, boilerplate_path, ident, text)
        boilerplate_keys[ident] = key
        # A block scalar ("kennung: |") starts on the line after its key.
        first_line = site.boilerplate_lines.get(ident, 1) + (1 if "\n" in text.strip() else 0)
        tasks.append(_Task(key, boilerplate_path, first_line, BOILERPLATES_FILE, text, None))

    made = _make(site, cache, tasks, jobs, known)
    infos = made.infos
    item_infos = {t.item: infos[t.key] for t in tasks if t.item is not None}
    boilerplate_infos = {ident: infos[key] for ident, key in boilerplate_keys.items()}
    problems = tuple(p for info in infos.values() for p in info.problems)
    rerender = _Rerender(site, made.renderers, {t.key: t for t in tasks})
    store = BodyStore(made.fresh, cache, rerender)
    # Most bodies show no image: no call made for them.
    uses = [
        *(
            _uses(site, infos[t.key], t.path, t.item)
            for t in tasks
            if t.item is not None and infos[t.key].images
        ),
        *(_uses(site, info, boilerplate_path, None) for info in boilerplate_infos.values()),
    ]
    image_uses = tuple(use for group in uses for use in group)
    bodies = Bodies(item_infos, boilerplate_infos, store, made.rendered, image_uses)
    return Staged(bodies, problems)


def render_item_bodies(
    site: Site, cache: BuildCache | None, bodies: Bodies, documents: Collection[Document]
) -> Staged[Bodies]:
    """``bodies`` with those of the items of ``documents`` (with their text) made again,
    every other body as it was, and the problems of the bodies made again.

    For the preview's save of a few files whose front matter is as before (build.py):
    the model is then the last one, so the other bodies' links resolve as they did.
    ``image_uses`` stay those of ``bodies``; the caller checks that the new bodies
    show the images the old ones did."""
    start = _key_start(_settings(site.config))
    tasks = [_document_task(start, doc) for doc in documents]
    made = _make(site, cache, tasks, 1, None)
    items = dict(bodies.items)
    items.update((t.item, made.infos[t.key]) for t in tasks if t.item is not None)
    old = bodies.store._render_again
    rerender = None
    if isinstance(old, _Rerender):
        replaced = {
            bodies.items[t.item].key for t in tasks if t.item is not None and t.item in bodies.items
        }
        known = {k: t for k, t in old.tasks.items() if k not in replaced}
        rerender = _Rerender(site, old.renderers, {**known, **{t.key: t for t in tasks}})
    store = BodyStore(made.fresh, cache, rerender)
    problems = tuple(p for t in tasks for p in made.infos[t.key].problems)
    renewed = Bodies(items, bodies.boilerplates, store, made.rendered, bodies.image_uses)
    return Staged(renewed, problems)


def _settings(config: SiteConfig) -> str:
    """What every body's key includes besides its text: links and embeds depend on it."""
    return f"{config.base_url}\0{','.join(config.iframe_hosts)}"


def _key_start(settings: str) -> hashlib._Hash:
    """``_body_key`` as far as the documents' keys share it: each goes on from a copy,
    not from the tool's fingerprint and the settings again (10,000 keys each build)."""
    return hashlib.sha256("\0".join((tool_fingerprint(), settings, "")).encode())


def document_body_key(config: SiteConfig, rel_path: str, digest: str) -> str:
    """The key of the body of the Markdown file ``rel_path`` when its bytes had ``digest``:
    the one ``render_bodies`` caches it under (search/guess.py looks up the last one)."""
    start = _key_start(_settings(config))
    start.update(f"{rel_path}\0{digest}".encode())
    return start.hexdigest()


def _document_task(start: hashlib._Hash, doc: Document) -> _Task:
    """``start``: ``_key_start`` of the settings."""
    digest = start.copy()
    digest.update(f"{doc.rel_path}\0{doc.digest}".encode())  # ``_body_key`` of the two
    key = doc.content_path
    return _Task(digest.hexdigest(), doc.rel_path, doc.body_line, key, doc.body, key)


@dataclass(frozen=True, slots=True)
class _Made:
    infos: dict[str, BodyInfo]  # by body key
    fresh: dict[str, str]  # HTML not spilled to the cache
    rendered: frozenset[str]  # item keys and boilerplate keys rendered now
    renderers: dict[str, MarkdownRenderer]


def _make(
    site: Site,
    cache: BuildCache | None,
    tasks: list[_Task],
    jobs: int,
    known: Mapping[str, BodyInfo] | None,
) -> _Made:
    """The info of every task: known, cached and still valid, or rendered now."""
    infos: dict[str, BodyInfo] = {}
    if known is not None:
        infos = {t.key: known[t.key] for t in tasks if t.key in known}
    unknown = [t for t in tasks if t.key not in infos]
    cached = cache.body_summaries(t.key for t in unknown) if cache is not None and unknown else {}
    labeller = download_labeller(site)
    missing: list[_Task] = []
    for task in unknown:
        entry = cached.get(task.key)
        if entry is not None and _still_valid(
            entry,
            link_resolver(site, task.link_base),
            labeller,
            link_advice(site, task.link_base),
        ):
            infos[task.key] = _info(task.key, entry)
        else:
            missing.append(task)

    renderers: dict[str, MarkdownRenderer] = {}
    fresh: dict[str, str] = {}
    batch: dict[str, dict[str, Any]] = {}
    # HTML goes to the cache as it comes and is read back when a page shows it, so
    # 10,000 rendered bodies (~150 MB of str) are never in memory at once.
    spill_to = cache if cache is not None and cache.writable else None
    for task, payload in zip(
        missing, run_parallel(_render_task, (site, renderers), missing, jobs), strict=True
    ):
        infos[task.key] = _info(task.key, payload)
        if payload.get("transient"):
            continue
        if spill_to is None:
            fresh[task.key] = payload["html"]
            continue
        batch[task.key] = payload
        if len(batch) >= _SPILL_BATCH:
            spill_to.store_bodies(batch)
            batch = {}
    if batch and spill_to is not None:
        spill_to.store_bodies(batch)
    return _Made(infos, fresh, frozenset(t.item or t.key for t in missing), renderers)


@dataclass(frozen=True, slots=True)
class _Rerender:
    """A body's HTML made again when the cache lost it (``BodyStore``)."""

    site: Site
    renderers: dict[str, MarkdownRenderer]
    tasks: Mapping[str, _Task]

    def __call__(self, key: str) -> str:
        return str(_render_task((self.site, self.renderers), self.tasks[key])["html"])


# How an editor gives the credit of a body image (docs/redaktion.md „Bilder im Text“).
BODY_CREDIT_HINT = 'hinter dem Bild {credit="…"}'


def body_image_src(site: Site, url: str) -> str | None:
    """The media file a body image's address names, if it is one."""
    base = site.config.base_path
    if not url.startswith(base):
        return None
    path = url[len(base) :]
    return path if path.startswith("medien/") else None


def _uses(site: Site, info: BodyInfo, path: str, item: str | None) -> list[ImageUse]:
    uses = []
    for image in info.images:
        src = body_image_src(site, image.url)
        if src is not None:
            uses.append(ImageUse(src, path, image.line, image.credit, BODY_CREDIT_HINT, item))
    return uses
