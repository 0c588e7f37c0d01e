"""The whole site as one immutable model, before anything is rendered.

Input: every parsed ``Document`` and ``DataFile``, the files that had errors
of their own as far as they could be read, the media files and the settings.
Output: ``Staged[Site]``: the site (published items, relations both ways,
topics, lists, years, every route with its output path) and the ``SiteError``s
found across files: unknown references, duplicate slugs, colliding output
paths. A document with errors makes no page but still exists for the others
(``Site.withheld``), so one error does not cause false ones elsewhere.
Relations are stored as item keys (content paths), never object pointers (Zola
``Library``), so the model is cheap to compare and to cache against.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from kldigital_site.config import SiteConfig
from kldigital_site.content.discover import SourceFile, SourceKind
from kldigital_site.content.parse import BOILERPLATES_FILE, CONTACTS_FILE, DataFile, Document
from kldigital_site.errors import SiteError, Staged
from kldigital_site.redirects import (
    APACHE_RULES_FILE,
    NGINX_RULES_FILE,
    SERVER_DIR,
    aliases_of,
    check_aliases,
)
from kldigital_site.slugs import slugify
from kldigital_site.suggestions import did_you_mean, near_file
from kldigital_site.typography import smarten

# Plain pages live at /<slug>/; these names belong to the generator.
RESERVED_PAGE_SLUGS = frozenset(
    {"assets", "medien", "pagefind", "suche", "404", "feed", SERVER_DIR}
)
SEARCH_URL = "suche/"  # the full-text search page (search/indexer.py builds its index)


class Item(NamedTuple):
    """One published content file. A named tuple, not a frozen dataclass: 10,000 made on
    every build at 10,000 items, each in a quarter of a dataclass's time (issue 15)."""

    key: str  # content path, e.g. presse/2021-06-25-x.md: unique and stable
    doc: Document
    url: str  # site path without base path: "presse/x/"
    title: str
    tag_slugs: tuple[str, ...]
    date: dt.datetime | None  # press releases: publication time, aware
    is_draft: bool
    is_future: bool

    @property
    def kind(self) -> SourceKind:
        return self.doc.kind

    @property
    def meta(self) -> Mapping[str, Any]:
        return self.doc.meta


@dataclass(frozen=True, slots=True)
class Tag:
    slug: str
    name: str
    item_keys: tuple[str, ...]


class RouteKind(StrEnum):
    """What a generated file shows; decides its template or generator (render/)."""

    HOME = "home"
    PROJECT_LIST = "project_list"
    SMART_CITY = "smart_city"
    PROJECT = "project"
    PRESS_LIST = "press_list"
    PRESS_YEAR = "press_year"
    PRESS_RELEASE = "press_release"
    TOPICS = "topics"
    TOPIC = "topic"
    PAGE = "page"
    SEARCH = "search"
    NOT_FOUND = "not_found"
    FEED = "feed"
    SITEMAP = "sitemap"
    ROBOTS = "robots"
    # The newsroom (render/newsroom.py, render/feeds.py): files for journalists.
    PRESS_TEXT = "press_text"  # /presse/<slug>/pressemitteilung.txt
    PRESS_EMAIL = "press_email"  # /presse/<slug>/pressemitteilung.eml
    CONTACT_CARD = "contact_card"  # /kontakt/<id>.vcf
    TOPIC_FEED = "topic_feed"  # /themen/<slug>/feed.xml
    PROJECT_FEED = "project_feed"  # /projekte/<slug>/feed.xml
    # Old addresses (``aliases:``, redirects.py): a page that sends the visitor on,
    # and the permanent redirects for the web server (render/redirects.py).
    REDIRECT = "redirect"  # /<alias>/ of an item
    NGINX_RULES = "nginx_rules"  # /_server/redirects.nginx.conf
    APACHE_RULES = "apache_rules"  # /_server/redirects.apache.conf

    @property
    def is_generated_file(self) -> bool:
        """Made by code (render/feeds.py, render/redirects.py) on every build, not by a
        template: cheap, so never compared with the last build."""
        return self in _GENERATED_FILES

    @property
    def is_newsroom_file(self) -> bool:
        """Made by code from a view (render/newsroom.py), re-made only when the view changes."""
        return self in _NEWSROOM_FILES

    @property
    def is_page(self) -> bool:
        """An HTML page: in the sitemap (where published) and in the page count."""
        return not (self.is_generated_file or self.is_newsroom_file)


_GENERATED_FILES = frozenset(
    {
        RouteKind.FEED,
        RouteKind.SITEMAP,
        RouteKind.ROBOTS,
        RouteKind.REDIRECT,
        RouteKind.NGINX_RULES,
        RouteKind.APACHE_RULES,
    }
)
_NEWSROOM_FILES = frozenset(
    {
        RouteKind.PRESS_TEXT,
        RouteKind.PRESS_EMAIL,
        RouteKind.CONTACT_CARD,
        RouteKind.TOPIC_FEED,
        RouteKind.PROJECT_FEED,
    }
)
CONTACTS_URL = "kontakt/"  # vCards: /kontakt/<id>.vcf
PRESS_TEXT_FILE = "pressemitteilung.txt"
PRESS_EMAIL_FILE = "pressemitteilung.eml"
FEED_FILE = "feed.xml"


class _RouteFields(NamedTuple):
    url: str  # site path without base path; "" is the home page
    kind: RouteKind
    origin: str  # what makes it: a content path or a description, for collision messages
    item: str | None
    page_number: int
    year: int | None
    tag: str | None
    contact: str | None  # id in daten/kontakte.yaml (vCards)
    # The file it is written to. Worked out once: an edit build at 10,000 items asked
    # for it ~140,000 times, as a property (issue 15).
    output_path: str


class Route(_RouteFields):
    """One generated file: what it shows and where it goes (``_RouteFields``).

    A named tuple made by its own ``__new__``, which works out the output path, not a
    frozen dataclass: every build makes 30,000 at 10,000 items, and a dataclass's
    ``__init__`` (an ``object.__setattr__`` per field, then ``__post_init__``) took
    three times as long, 30 ms of an edit build (issue 15)."""

    __slots__ = ()

    def __new__(
        cls,
        url: str,
        kind: RouteKind,
        origin: str,
        item: str | None = None,
        page_number: int = 1,
        year: int | None = None,
        tag: str | None = None,
        contact: str | None = None,
    ) -> Route:
        path = url + "index.html" if url.endswith("/") or not url else url
        fields = (url, kind, origin, item, page_number, year, tag, contact, path)
        return tuple.__new__(cls, fields)

    def __getnewargs__(self) -> tuple[Any, ...]:
        """What ``__new__`` takes, for pickling (forked workers get their routes so)."""
        return tuple(self)[:8]


@dataclass(frozen=True, slots=True)
class LeftOut:
    """What a build does not publish: drafts, and press releases under embargo."""

    drafts: int = 0
    embargoed: int = 0


@dataclass(frozen=True, slots=True)
class Site:
    config: SiteConfig
    now: dt.datetime
    items: Mapping[str, Item]
    projects: tuple[str, ...]  # by weight, then title
    smart_city_projects: tuple[str, ...]
    releases: tuple[str, ...]  # newest first
    pages: tuple[str, ...]  # by weight, then title
    tags: Mapping[str, Tag]  # by German collation of the name
    years: Mapping[int, tuple[str, ...]]  # newest year first
    release_projects: Mapping[str, tuple[str, ...]]
    project_releases: Mapping[str, tuple[str, ...]]
    contacts: Mapping[str, Mapping[str, Any]]
    boilerplates: Mapping[str, str]
    boilerplate_lines: Mapping[str, int]
    data: Mapping[str, Any]
    media: tuple[SourceFile, ...]
    routes: tuple[Route, ...]
    url_of_content: Mapping[str, str] = field(default_factory=dict)
    file_urls: frozenset[str] = frozenset()  # media and theme assets
    # Theme files by name in templates/assets/ → published path (render/assets.py).
    assets: Mapping[str, str] = field(default_factory=dict)
    route_urls: frozenset[str] = frozenset()
    # Documents that would be published but have errors (``build_site``): no page, but
    # links to them are not broken. Empty in any build that succeeds.
    withheld: Mapping[str, Document] = field(default_factory=dict)
    withheld_urls: frozenset[str] = frozenset()
    # Per topic, its items as its pages list them (``topic_items``): sorted once here, not
    # for each of the pages and feeds of hundreds of topics at 10,000 items.
    topic_order: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # When the next dated item, published or not, stops being in the future, or the
    # next project starts ("ab …" becomes "seit …"): until then the same sources give
    # the same site (build.py's no-change shortcut).
    next_change: dt.datetime | None = None
    left_out: LeftOut = field(default_factory=LeftOut)

    def press_page_count(self) -> int:
        size = self.config.press_per_page
        return max(1, -(-len(self.releases) // size))

    def press_page(self, number: int) -> tuple[str, ...]:
        """The releases on page ``number`` (1-based) of the press list."""
        size = self.config.press_per_page
        return self.releases[(number - 1) * size : number * size]

    def press_page_url(self, number: int) -> str:
        press = self.config.sections.press
        return f"{press}/" if number == 1 else f"{press}/seite/{number}/"

    def topic_items(self, slug: str) -> tuple[str, ...]:
        """Everything with the topic, in the order its pages list it: projects, releases, pages."""
        return self.topic_order[slug]

    def topic_page_count(self, slug: str) -> int:
        return max(1, -(-len(self.tags[slug].item_keys) // self.config.topic_per_page))

    def topic_page(self, slug: str, number: int) -> tuple[str, ...]:
        """The items on page ``number`` (1-based) of a topic."""
        size = self.config.topic_per_page
        return self.topic_items(slug)[(number - 1) * size : number * size]

    def topic_page_url(self, slug: str, number: int) -> str:
        topic = f"{self.config.sections.topics}/{slug}/"
        return topic if number == 1 else f"{topic}seite/{number}/"

    def release_contacts(self, key: str) -> tuple[str, ...]:
        """The press contacts of a release: its own ``contacts`` or the site's default."""
        contacts = self.items[key].meta.get("contacts")
        return tuple(contacts if contacts is not None else self.config.default_contacts)

    def shown_contacts(self) -> tuple[str, ...]:
        """Contacts that some page shows, sorted: only these get a vCard (a contact
        in kontakte.yaml that no page names is not published)."""
        shown = {c for key in self.releases for c in self.release_contacts(key)}
        shown |= {self.items[k].meta.get("contact") or "" for k in self.projects}
        return tuple(sorted(c for c in shown if c and c in self.contacts))

    def contact_card_url(self, ident: str) -> str:
        return f"{CONTACTS_URL}{ident}.vcf"

    @property
    def redirect_urls(self) -> frozenset[str]:
        """The old addresses (``aliases:``) the site redirects from."""
        return frozenset(r.url for r in self.routes if r.kind is RouteKind.REDIRECT)

    def url_exists(self, url: str) -> bool:
        return url in self.file_urls or url in self.route_urls or url in self.withheld_urls


def structure_digest(site: Site) -> str:
    """The site's structure as one hash: every field of the model but the settings, "now"
    and the items, and of each item what places it (key, kind, address, date, topics,
    publication state) but not what is shown of it (its title, summary, pictures …).

    Views read the rest of an item only through ``Site.items``, which records it
    (render/views.py), so two builds of the same structure differ in their pages only
    where those reads differ (render/pages.py ``_changed_reads``). A field added to
    ``Site`` is in here without a word: only the settings, "now" (its effect is
    ``next_change``), the items and ``route_urls`` (made from the routes) are left out.
    """
    digest = hashlib.sha256()
    placed = [
        f"{(key, item.kind.value, item.url, item.tag_slugs, item.date)!r}"
        f"{item.is_draft:d}{item.is_future:d}\0"
        for key, item in site.items.items()
    ]
    digest.update("".join(placed).encode())
    for part in dataclasses.fields(site):
        if part.name in ("config", "now", "items", "route_urls"):
            continue  # ``route_urls``: the routes' addresses, which count with the routes
        value = getattr(site, part.name)
        if part.name == "routes":
            # 30,000 at 10,000 items: their fields joined as they are, not each
            # dataclass's repr, nor the repr of 5 MB of text.
            joined = "\n".join(
                f"{r.url}\0{r.kind.value}\0{r.origin}\0{r.item}\0{r.page_number}"
                f"\0{r.year}\0{r.tag}\0{r.contact}"
                for r in value
            )
            digest.update(f"routes={len(value)}\0{joined}\0".encode())
            continue
        if part.name == "media":
            # Their place in the site, not on this machine: the same in every checkout.
            shown: Any = [(m.content_path, m.kind.value) for m in value]
        elif isinstance(value, frozenset | set):
            shown = sorted(value)  # a set prints in an order that differs between processes
        else:
            shown = value
        digest.update(f"{part.name}={shown!r}\0".encode())
    return digest.hexdigest()


def collation_key(text: str) -> str:
    """German dictionary order (DIN 5007-1): umlauts sort with their base letter."""
    folded = text.casefold().replace("ß", "ss")
    if folded.isascii():
        return folded  # nothing to decompose: a third of the model's time at 10,000 items
    decomposed = unicodedata.normalize("NFKD", folded)
    # No mark combines below U+0300: the comparison spares most letters the lookup.
    return "".join(c for c in decomposed if c < "\u0300" or not unicodedata.combining(c))


def build_site(
    config: SiteConfig,
    documents: Sequence[Document],
    data_files: Sequence[DataFile],
    media: Sequence[SourceFile],
    assets: Mapping[str, str],
    now: dt.datetime,
    *,
    flawed: Sequence[Document | DataFile] = (),
) -> Staged[Site]:
    """The site of the published ``documents``, and every error found across files.

    ``flawed`` are files with errors of their own (content/parse.py), as far as
    they could be read. They make no page, but they exist: their slugs and
    addresses count when other files refer to them, and their own references
    are checked, so one error does not bring on false ones elsewhere (STYLE 8.4).
    A document with an error found here is left out of the pages the same way,
    so that what is rendered is consistent and template errors are real ones.
    """
    data = {d.content_path: d for d in data_files}
    known = _Known.of(data, flawed, documents, media)
    everything = [*documents, *(f for f in flawed if isinstance(f, Document))]
    slug_errors = [*_reserved_slugs(everything), *_duplicate_slugs(everything)]
    reference_errors = [e for doc in everything for e in _check_references(doc, known)]
    errors = [*_check_defaults(config, known), *slug_errors, *reference_errors]
    faulty = {e.path for e in (*slug_errors, *reference_errors)}
    shown = [d for d in documents if d.rel_path not in faulty and known.can_show(d, config)]
    items, next_change, left_out = _published_items(config, shown, now)
    tags, tag_errors = _collect_tags(items.values())
    errors.extend(tag_errors)
    site = _relate(config, now, items, tags, data, media, next_change)
    routes = _routes(site)
    file_urls = frozenset([*(m.content_path for m in media), *assets.values()])
    errors.extend(_collisions(routes, file_urls, items))
    alias_errors = _check_aliases(config, everything, routes)
    errors.extend(alias_errors)
    routes = (*routes, *_redirect_routes(items, alias_errors))
    withheld = {
        doc.content_path: doc
        for doc in everything
        if doc.content_path not in items and _would_publish(config, doc, now)
    }
    site = dataclasses.replace(
        site,
        routes=routes,
        file_urls=file_urls,
        assets=assets,
        route_urls=frozenset(route.url for route in routes),
        url_of_content={
            **{key: item_url(config, doc.kind, doc.slug) for key, doc in withheld.items()},
            **{key: item.url for key, item in items.items()},
        },
        withheld=withheld,
        withheld_urls=_withheld_urls(config, withheld.values()),
        left_out=left_out,
    )
    return Staged(site, tuple(errors))


@dataclass(frozen=True, slots=True)
class _Known:
    """What references can name. A data file with errors names the ids it has (even
    those whose entries are wrong); ``None``: it could not be read as a mapping at
    all, so any id counts as known. Pages show only ``shown_*``, the valid entries."""

    contacts: Mapping[str, Any] | None
    boilerplates: Mapping[str, Any] | None
    project_slugs: frozenset[str]
    media_paths: frozenset[str]
    shown_contacts: Mapping[str, Any]
    shown_boilerplates: Mapping[str, Any]

    @classmethod
    def of(
        cls,
        data: Mapping[str, DataFile],
        flawed: Sequence[Document | DataFile],
        documents: Sequence[Document],
        media: Sequence[SourceFile],
    ) -> _Known:
        broken = {f.content_path: f for f in flawed if isinstance(f, DataFile)}
        contacts = _entries(data.get(CONTACTS_FILE))
        boilerplates = _entries(data.get(BOILERPLATES_FILE))
        projects = [d for d in (*documents, *flawed) if isinstance(d, Document)]

        def ids(path: str, valid: dict[str, Any]) -> Mapping[str, Any] | None:
            if path not in broken:
                return valid
            return dict.fromkeys(broken[path].lines) or None

        return cls(
            contacts=ids(CONTACTS_FILE, contacts),
            boilerplates=ids(BOILERPLATES_FILE, boilerplates),
            project_slugs=frozenset(d.slug for d in projects if d.kind is SourceKind.PROJECT),
            media_paths=frozenset(m.content_path for m in media),
            shown_contacts=contacts,
            shown_boilerplates=boilerplates,
        )

    def can_show(self, doc: Document, config: SiteConfig) -> bool:
        """Every contact and boilerplate its page shows is there (render/views.py)."""
        meta = doc.meta
        boilerplate = meta.get("boilerplate")
        contacts: Iterable[str]
        if doc.kind is not SourceKind.PRESS:
            contacts = _contact_ids(doc)
        else:
            # A release without contacts of its own shows the site's: 8,000 of 10,000 items.
            contacts = (
                config.default_contacts if meta.get("contacts") is None else _contact_ids(doc)
            )
            if boilerplate is None:
                boilerplate = config.default_boilerplate
        shown = self.shown_contacts
        for contact in contacts:
            if contact not in shown:
                return False
        return not isinstance(boilerplate, str) or boilerplate in self.shown_boilerplates


def _contact_ids(doc: Document) -> list[str]:
    return [contact for _, contact in _contact_refs(doc)]


def _contact_refs(doc: Document) -> list[tuple[str, str]]:
    """(key, contact id) of every contact a document names, the accessibility
    statement's ``feedback_contact`` included."""
    meta = doc.meta
    contact, feedback, contacts = (
        meta.get("contact"),
        meta.get("feedback_contact"),
        meta.get("contacts"),
    )
    if not (contact or feedback or contacts):
        return []  # most documents: asked twice for each of 10,000 (build_site)
    refs = [(key, meta[key]) for key in ("contact", "feedback_contact") if meta.get(key)]
    return refs + [("contacts", contact) for contact in contacts or []]


def _withheld_urls(config: SiteConfig, withheld: Iterable[Document]) -> frozenset[str]:
    """The addresses withheld documents would have, and the year archives and topic
    pages they would add: links to those are not broken either."""
    sections = config.sections
    urls = set()
    for doc in withheld:
        urls.add(item_url(config, doc.kind, doc.slug))
        date = doc.meta.get("date")
        if doc.kind is SourceKind.PRESS and isinstance(date, dt.date):
            urls.add(f"{sections.press}/{date.year}/")
        urls.update(f"{sections.topics}/{slugify(tag)}/" for tag in doc.meta.get("tags", ()))
    return frozenset(urls)


def item_url(config: SiteConfig, kind: SourceKind, slug: str) -> str:
    """Where the page of a content file goes (site path without base path)."""
    sections = config.sections
    if kind is SourceKind.PROJECT:
        return f"{sections.projects}/{slug}/"
    if kind is SourceKind.PRESS:
        return f"{sections.press}/{slug}/"
    return f"{slug}/"


def _would_publish(config: SiteConfig, doc: Document, now: dt.datetime) -> bool:
    """Whether the site would show ``doc`` if it had no errors (as far as its front
    matter says): a link to a draft is broken whether the draft has errors or not."""
    if doc.meta.get("draft") and not config.include_drafts:
        return False
    date = doc.meta.get("date")
    if doc.kind is SourceKind.PRESS and isinstance(date, dt.date) and not config.include_future:
        return publication_time(date, ZoneInfo(config.timezone)) <= now
    return True


def _entries(data_file: DataFile | None) -> dict[str, Any]:
    return dict(data_file.entries) if data_file else {}


def _published_items(
    config: SiteConfig, documents: Sequence[Document], now: dt.datetime
) -> tuple[dict[str, Item], dt.datetime | None, LeftOut]:
    """The items the site shows, when the next dated one stops being in the future, and
    what is left out."""
    zone = ZoneInfo(config.timezone)
    # Each kind's ``item_url`` but the slug, worked out once rather than per item.
    sections = config.sections
    folders = {SourceKind.PROJECT: f"{sections.projects}/", SourceKind.PRESS: f"{sections.press}/"}
    # Most items share their list of topics with others: each list slugified once.
    tag_slugs: dict[tuple[str, ...], tuple[str, ...]] = {}
    items: dict[str, Item] = {}
    upcoming: list[dt.datetime] = []
    drafts = embargoed = 0
    for doc in documents:
        item = _make_item(doc, folders.get(doc.kind, ""), zone, now, tag_slugs)
        if item.is_future and item.date is not None:
            upcoming.append(item.date)
        start = _start_time(item, zone) if doc.kind is SourceKind.PROJECT else None
        if start is not None and start > now:
            upcoming.append(start)  # its period turns from "ab …" to "seit …"
        if item.is_draft and not config.include_drafts:
            drafts += 1
            continue
        if item.is_future and not config.include_future:
            embargoed += 1
            continue
        items[item.key] = item
    return items, min(upcoming, default=None), LeftOut(drafts, embargoed)


def _relate(
    config: SiteConfig,
    now: dt.datetime,
    items: dict[str, Item],
    tags: Mapping[str, Tag],
    data: Mapping[str, DataFile],
    media: Sequence[SourceFile],
    next_change: dt.datetime | None,
) -> Site:
    """The items in their orders and relations; routes and URLs come after (``build_site``)."""
    by_kind: dict[SourceKind, list[Item]] = defaultdict(list)
    for item in items.values():
        by_kind[item.kind].append(item)

    def by_weight(item: Item) -> tuple[int, str, str]:
        return (item.meta["weight"], collation_key(item.title), item.key)

    projects = tuple(i.key for i in sorted(by_kind[SourceKind.PROJECT], key=by_weight))
    pages = tuple(i.key for i in sorted(by_kind[SourceKind.PAGE], key=by_weight))
    # Newest first, then by title: sorted by title first, then by time alone, which
    # keeps the order of equal times (one key tuple fewer for each of 8,000 releases).
    by_title = sorted(by_kind[SourceKind.PRESS], key=lambda i: (collation_key(i.title), i.key))
    releases = tuple(
        i.key
        for i in sorted(by_title, key=lambda i: i.date.timestamp() if i.date else 0.0, reverse=True)
    )
    slug_to_project = {items[k].doc.slug: k for k in projects}
    # A list made in one go, not a generator for each of 8,000 releases (issue 15).
    release_projects = {
        key: tuple(
            [slug_to_project[s] for s in items[key].doc.meta["projects"] if s in slug_to_project]
        )
        for key in releases
    }
    mentioned_in: dict[str, list[str]] = {p: [] for p in projects}
    for release in releases:  # newest first, so each list is too
        for project in release_projects[release]:
            mentioned_in[project].append(release)
    years: dict[int, list[str]] = defaultdict(list)
    for key in releases:
        date = items[key].date
        assert date is not None
        years[date.year].append(key)
    boilerplate_file = data.get(BOILERPLATES_FILE)
    return Site(
        config=config,
        now=now,
        items=items,
        projects=projects,
        smart_city_projects=tuple(k for k in projects if items[k].meta["smart_city"]),
        releases=releases,
        pages=pages,
        tags=tags,
        years={year: tuple(years[year]) for year in sorted(years, reverse=True)},
        release_projects=release_projects,
        project_releases={p: tuple(keys) for p, keys in mentioned_in.items()},
        contacts=_entries(data.get(CONTACTS_FILE)),
        boilerplates=_entries(boilerplate_file),
        boilerplate_lines=dict(boilerplate_file.lines) if boilerplate_file else {},
        data={path: d.entries for path, d in data.items()},
        media=tuple(media),
        routes=(),
        topic_order=_topic_order(tags, (*projects, *releases, *pages)),
        next_change=next_change,
    )


def _topic_order(tags: Mapping[str, Tag], listed: Sequence[str]) -> dict[str, tuple[str, ...]]:
    rank = {key: number for number, key in enumerate(listed)}
    return {
        slug: tuple(sorted((k for k in tag.item_keys if k in rank), key=rank.__getitem__))
        for slug, tag in tags.items()
    }


def _start_time(item: Item, zone: ZoneInfo) -> dt.datetime | None:
    """When a project starts (midnight of its first day, in the site's zone)."""
    start = item.meta.get("start") if item.kind is SourceKind.PROJECT else None
    if start is None:
        return None
    return dt.datetime.combine(start.first_day(), _MIDNIGHT, zone)


def _make_item(
    doc: Document,
    folder: str,
    zone: ZoneInfo,
    now: dt.datetime,
    tag_slugs: dict[tuple[str, ...], tuple[str, ...]],
) -> Item:
    """The item of ``doc``, whose page lies in ``folder`` (``item_url``); ``tag_slugs``:
    the slugs of each list of topics met so far, filled as it goes."""
    meta = doc.meta
    date = publication_time(meta["date"], zone) if doc.kind is SourceKind.PRESS else None
    # Positional: 10,000 items at a time (build_site), keywords cost a tenth more.
    return Item(
        doc.content_path,  # key
        doc,
        f"{folder}{doc.slug}/",  # url
        smarten(meta["title"]),  # title
        _tag_slugs(meta.get("tags"), tag_slugs),
        date,
        bool(meta.get("draft")),  # is_draft
        date is not None and date > now,  # is_future
    )


def _tag_slugs(tags: Any, known: dict[tuple[str, ...], tuple[str, ...]]) -> tuple[str, ...]:
    """The slugs of the topics ``tags``, each once; ``known``: those of each list met before."""
    if not tags:
        return ()
    if not isinstance(tags, tuple):
        return tuple(dict.fromkeys(map(slugify, tags)))
    slugs = known.get(tags)
    if slugs is None:
        slugs = known[tags] = tuple(dict.fromkeys(map(slugify, tags)))
    return slugs


def publication_time(value: dt.date | dt.datetime, zone: ZoneInfo) -> dt.datetime:
    """A press date as an aware time: a plain date means midnight in the site's zone."""
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=zone)
    # Not ``datetime(year, month, day, tzinfo=…)``: a tenth of the time, 8,000 at a time.
    return dt.datetime.combine(value, _MIDNIGHT, zone)


_MIDNIGHT = dt.time()


def _check_defaults(config: SiteConfig, known: _Known) -> list[SiteError]:
    errors = []
    path, lines = config.settings_path, config.default_lines
    contacts, boilerplates = known.contacts, known.boilerplates
    for contact in config.default_contacts:
        if contacts is not None and contact not in contacts:
            errors.append(
                SiteError(
                    path,
                    lines.get("contacts", 0),
                    _unknown("Kontakt", contact, contacts, CONTACTS_FILE),
                )
            )
    boilerplate = config.default_boilerplate
    if (
        isinstance(boilerplate, str)
        and boilerplates is not None
        and boilerplate not in boilerplates
    ):
        errors.append(
            SiteError(
                path,
                lines.get("boilerplate", 0),
                _unknown("Presseabbinder", boilerplate, boilerplates, BOILERPLATES_FILE),
            )
        )
    return errors


def _reserved_slugs(documents: Sequence[Document]) -> list[SiteError]:
    return [
        SiteError(
            doc.rel_path,
            doc.line_of("slug"),
            f"Die Adresse „{doc.slug}“ ist für die Website reserviert.",
        )
        for doc in documents
        if doc.kind is SourceKind.PAGE and doc.slug in RESERVED_PAGE_SLUGS
    ]


def _check_references(doc: Document, known: _Known) -> list[SiteError]:
    errors: list[SiteError] = []
    meta, path = doc.meta, doc.rel_path
    contacts, boilerplates = known.contacts, known.boilerplates
    for key, contact in _contact_refs(doc):
        if contacts is not None and contact not in contacts:
            errors.append(
                SiteError(
                    path, doc.line_of(key), _unknown("Kontakt", contact, contacts, CONTACTS_FILE)
                )
            )
    boilerplate = meta.get("boilerplate")
    if (
        isinstance(boilerplate, str)
        and boilerplates is not None
        and boilerplate not in boilerplates
    ):
        errors.append(
            SiteError(
                path,
                doc.line_of("boilerplate"),
                _unknown("Presseabbinder", boilerplate, boilerplates, BOILERPLATES_FILE),
            )
        )
    for slug in meta.get("projects", ()):
        if slug not in known.project_slugs:
            errors.append(
                SiteError(
                    path,
                    doc.line_of("projects"),
                    f"Unbekanntes Projekt „{slug}“ "
                    "(kein Steckbrief mit diesem Slug in content/projekte/)."
                    + did_you_mean(slug, known.project_slugs),
                )
            )
    image = meta.get("image")
    if image and image not in known.media_paths:
        message = f"Bilddatei „content/{image}“ gibt es nicht."
        near = near_file(image, known.media_paths)
        if near is not None:
            message += (
                f" Meinten Sie „content/{near}“? (Groß- und Kleinschreibung und Endung zählen.)"
            )
        errors.append(SiteError(path, doc.line_of("image"), message))
    return errors


def _unknown(what: str, ident: str, known: Mapping[str, Any], file: str) -> str:
    listed = ", ".join(sorted(known)) or "keine"
    return (
        f"Unbekannter {what} „{ident}“ (nicht in content/{file}; vorhanden: {listed})."
        + did_you_mean(ident, known)
    )


def _duplicate_slugs(documents: Sequence[Document]) -> list[SiteError]:
    seen: dict[tuple[SourceKind, str], list[Document]] = defaultdict(list)
    for doc in documents:
        seen[(doc.kind, doc.slug)].append(doc)
    errors = []
    for (_, slug), docs in seen.items():
        if len(docs) > 1:
            for doc in docs:
                others = ", ".join(d.rel_path for d in docs if d is not doc)
                errors.append(
                    SiteError(
                        doc.rel_path,
                        doc.line_of("slug") if "slug" in doc.lines else 1,
                        f"Der Slug „{slug}“ wird auch von {others} verwendet.",
                    )
                )
    return errors


def _collect_tags(items: Iterable[Item]) -> tuple[dict[str, Tag], list[SiteError]]:
    names: dict[str, set[str]] = defaultdict(set)
    members: dict[str, list[str]] = defaultdict(list)
    errors: list[SiteError] = []
    # Each list of topics once for its names: most items share theirs with others.
    lists: set[tuple[str, ...]] = set()
    for item in sorted(items, key=lambda i: i.key):
        # The item's slugs count two spellings of one topic in one file ("Mobilität",
        # "mobilität") once; a name that makes no slug makes "".
        for slug in item.tag_slugs:
            if slug:
                members[slug].append(item.key)
        if not item.tag_slugs:
            continue
        lists.add(tuple(item.doc.meta["tags"]))
        if "" in item.tag_slugs:
            errors.extend(
                SiteError(
                    item.doc.rel_path,
                    item.doc.line_of("tags"),
                    f"Aus dem Thema „{name}“ lässt sich keine Adresse bilden.",
                )
                for name in item.doc.meta["tags"]
                if not slugify(name)
            )
    for names_in_list in lists:
        for name in names_in_list:
            slug = slugify(name)
            if slug:
                names[slug].add(name)
    tags = {
        slug: Tag(
            slug, sorted(names[slug], key=lambda n: (n.islower(), n))[0], tuple(members[slug])
        )
        for slug in names
    }
    ordered = dict(sorted(tags.items(), key=lambda kv: (collation_key(kv[1].name), kv[0])))
    return ordered, errors


def _routes(site: Site) -> tuple[Route, ...]:
    s = site.config.sections
    routes = [
        Route("", RouteKind.HOME, "Startseite"),
        Route(f"{s.projects}/", RouteKind.PROJECT_LIST, "Liste der Projekte"),
        Route(f"{s.smart_city}/", RouteKind.SMART_CITY, "Liste der Smart-City-Projekte"),
        Route(f"{s.topics}/", RouteKind.TOPICS, "Liste der Themen"),
        Route(f"{s.press}/feed.xml", RouteKind.FEED, "Atom-Feed"),
        Route("sitemap.xml", RouteKind.SITEMAP, "Sitemap"),
        Route("robots.txt", RouteKind.ROBOTS, "robots.txt"),
        Route("404.html", RouteKind.NOT_FOUND, "Fehlerseite 404"),
        Route(SEARCH_URL, RouteKind.SEARCH, "Suchseite"),
        # Written even without any alias, so that the server's include never fails.
        Route(NGINX_RULES_FILE, RouteKind.NGINX_RULES, "Weiterleitungen für nginx"),
        Route(APACHE_RULES_FILE, RouteKind.APACHE_RULES, "Weiterleitungen für Apache"),
    ]
    for number in range(1, site.press_page_count() + 1):
        routes.append(
            Route(
                site.press_page_url(number),
                RouteKind.PRESS_LIST,
                "Liste der Pressemitteilungen",
                page_number=number,
            )
        )
    for year in site.years:
        routes.append(
            Route(f"{s.press}/{year}/", RouteKind.PRESS_YEAR, f"Archiv {year}", year=year)
        )
    for slug in site.tags:
        for number in range(1, site.topic_page_count(slug) + 1):
            routes.append(
                Route(
                    site.topic_page_url(slug, number),
                    RouteKind.TOPIC,
                    f"Themenseite {slug}",
                    tag=slug,
                    page_number=number,
                )
            )
        routes.append(
            Route(f"{s.topics}/{slug}/{FEED_FILE}", RouteKind.TOPIC_FEED, f"Feed {slug}", tag=slug)
        )
    # Each kind's routes in a loop of its own, their arguments by position: 10,000 items
    # at a time (issue 15).
    items, add = site.items, routes.append
    for key in site.projects:
        item = items[key]
        url, origin = item.url, item.doc.rel_path
        add(Route(url, RouteKind.PROJECT, origin, key))
        add(Route(url + FEED_FILE, RouteKind.PROJECT_FEED, origin, key))
    for key in site.releases:
        item = items[key]
        url, origin = item.url, item.doc.rel_path
        add(Route(url, RouteKind.PRESS_RELEASE, origin, key))
        add(Route(url + PRESS_TEXT_FILE, RouteKind.PRESS_TEXT, origin, key))
        add(Route(url + PRESS_EMAIL_FILE, RouteKind.PRESS_EMAIL, origin, key))
    for key in site.pages:
        item = items[key]
        add(Route(item.url, RouteKind.PAGE, item.doc.rel_path, key))
    for ident in site.shown_contacts():
        routes.append(
            Route(
                site.contact_card_url(ident),
                RouteKind.CONTACT_CARD,
                f"vCard {ident}",
                contact=ident,
            )
        )
    return tuple(routes)


def _check_aliases(
    config: SiteConfig, documents: Sequence[Document], routes: Sequence[Route]
) -> list[SiteError]:
    """Aliases that clash with an address of the site, drafts' addresses included."""
    if not any(doc.meta.get("aliases") for doc in documents):
        return []  # the common case: 40,000 addresses not gathered for nothing
    own_urls = {doc.content_path: item_url(config, doc.kind, doc.slug) for doc in documents}
    taken = {f"{own_urls[doc.content_path]}index.html": doc.rel_path for doc in documents}
    taken.update((route.output_path, route.origin) for route in routes)
    return check_aliases(documents, own_urls, taken)


def _redirect_routes(items: Mapping[str, Item], errors: Sequence[SiteError]) -> list[Route]:
    """A redirect page for every alias of a published item: a draft's or an embargoed
    release's old address must not give away its new one."""
    faulty = {(e.path, e.line) for e in errors}
    routes = [
        Route(alias.url, RouteKind.REDIRECT, item.doc.rel_path, key)
        for key, item in items.items()
        for alias in aliases_of(item.doc)
        if (item.doc.rel_path, alias.line) not in faulty
    ]
    return sorted(routes, key=lambda route: route.url)


def _collisions(
    routes: Sequence[Route], file_urls: frozenset[str], items: Mapping[str, Item]
) -> list[SiteError]:
    first: dict[str, Route] = {}
    claimed: dict[str, list[Route]] = {}  # the paths claimed twice or by a file too
    for route in routes:
        path = route.output_path
        earlier = first.setdefault(path, route)
        if earlier is not route:
            claimed.setdefault(path, [earlier]).append(route)
    for path in file_urls:
        if path in first and path not in claimed:
            claimed[path] = [first[path]]
    errors = []
    # Only the paths claimed twice are sorted (for the order of the messages), not 30,000.
    clashes = sorted(claimed.items(), key=lambda clash: clash[0])
    for output_path, claimants in clashes:
        origins = [c.origin for c in claimants] + (
            ["eine Datei in medien/"] if output_path in file_urls else []
        )
        for route in claimants:
            if route.item is None:
                continue
            others = ", ".join(o for o in origins if o != route.origin)
            doc = items[route.item].doc
            errors.append(
                SiteError(
                    route.origin,
                    doc.lines.get("slug", 1),
                    f"Die Adresse /{route.url} wird auch erzeugt von: {others}.",
                )
            )
    return errors
