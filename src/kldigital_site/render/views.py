"""Template-facing views: ``Site`` + rendered bodies → plain mappings.

Input: ``Site`` and ``Bodies``. Output: the views the page contexts are made of
(``render/contexts.py``; documented in docs/templates.md): cards, the site-wide
part, a project, a release, a contact. Templates never see model objects (Zola
``SerializingPage``); plain data also makes a page's inputs hashable, which is
what the render cache keys on (``fingerprint``, which also returns the bodies a
page reads).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import Any, overload
from zoneinfo import ZoneInfo

from kldigital_site.content.discover import SourceKind
from kldigital_site.markdown.bodies import Bodies, BodyInfo, BodyStore, body_image_src
from kldigital_site.markdown.renderer import BodyImage
from kldigital_site.media.facts import copyright_from_credit
from kldigital_site.media.pipeline import Media, Picture, download_label, file_size_text
from kldigital_site.model import (
    FEED_FILE,
    PRESS_EMAIL_FILE,
    PRESS_TEXT_FILE,
    SEARCH_URL,
    Item,
    Route,
    RouteKind,
    Site,
)
from kldigital_site.render.accessibility import feedback_mailto, page_extras, site_links
from kldigital_site.render.dates import date_long, date_time_long, period_text
from kldigital_site.render.pictures import with_pictures
from kldigital_site.search.shards import merged_bundles
from kldigital_site.theme import THEME_CSS
from kldigital_site.typography import smarten

View = dict[str, Any]

STATUS_LABELS = {"geplant": "Geplant", "laufend": "Laufend", "abgeschlossen": "Abgeschlossen"}
PAGE_TITLES: dict[RouteKind, str | None] = {
    RouteKind.HOME: None,
    RouteKind.PROJECT_LIST: "Projekte",
    RouteKind.SMART_CITY: "Smart-City-Projekte",
    RouteKind.PRESS_LIST: "Pressemitteilungen",
    RouteKind.TOPICS: "Themen",
    RouteKind.NOT_FOUND: "Seite nicht gefunden",
    RouteKind.SEARCH: "Suche",
}


class LazyHtml:
    """Rendered HTML fetched only when a template prints it.

    Jinja calls ``__html__`` when the value is output, so pages whose
    fingerprint is unchanged never load their body; the fingerprint itself
    sees only the body's cache key (``fingerprint_value``).
    """

    __slots__ = ("finish", "key", "reads", "store", "version")

    def __init__(
        self,
        store: BodyStore,
        info: BodyInfo,
        read: str,
        finish: Callable[[str], str] | None = None,
        pictures: str = "",
    ) -> None:
        self.store = store
        self.key = info.key
        # The body's images become <picture>s when printed (render/pictures.py); what
        # they show (variants, credits) counts for the page's fingerprint.
        self.version = f"{info.version}:{pictures}" if pictures else info.version
        self.reads = (read,)  # its signature's name (render/pages.py ``body_signatures``)
        self.finish = finish

    def __html__(self) -> str:
        html = self.store.html(self.key)
        return self.finish(html) if self.finish is not None else html

    def __str__(self) -> str:
        return self.__html__()

    def fingerprint_value(self) -> str:
        return f"body:{self.version}"


def fingerprint(context: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """A page's context as canonical JSON, and the bodies it reads, in order.

    The reads — its own text, the summaries on its cards, a boilerplate — are
    which body edits can change the page (render/pages.py). They are carried by
    the values that show a body (``LazyHtml``, card ``SharedView``s) and
    collected while the JSON is made, so they come from the context itself.
    """
    reads: set[str] = set()

    def default(value: Any) -> Any:
        reads.update(getattr(value, "reads", ()))
        return fingerprint_default(value)

    encoded = json.dumps(context, default=default, sort_keys=True, ensure_ascii=False)
    return encoded, tuple(sorted(reads))


def fingerprint_default(value: Any) -> Any:
    """``json.dumps`` fallback for fingerprinting views (render/pages.py)."""
    fingerprint = getattr(value, "fingerprint_value", None)
    if fingerprint is not None:
        return fingerprint()
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


class SharedView(Mapping[str, Any]):
    """A view shared by many pages (a card, the site-wide part), fingerprinted once.

    A card appears on several pages (lists, years, topics, projects), the site's
    navigation and footer on all of them; serialising them again for each page was
    most of the cost of deciding which of 10,000 pages changed.
    """

    __slots__ = ("_data", "_fingerprint", "reads")

    def __init__(self, data: dict[str, Any], reads: tuple[str, ...] = ()) -> None:
        self._data = data
        self._fingerprint: str | None = None
        self.reads = reads  # bodies shown in it (a card's summary), see ``fingerprint``

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def fingerprint_value(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = "shared:" + _digest(self._data)
        return self._fingerprint


class SharedList(Sequence[Any]):
    """A list shared by many pages (the archive's years), fingerprinted once."""

    __slots__ = ("_fingerprint", "_items", "reads")

    def __init__(self, items: list[Any], reads: tuple[str, ...] = ()) -> None:
        self._items = items
        self._fingerprint: str | None = None
        self.reads = reads  # the items it was made from (``Views.recording``)

    @overload
    def __getitem__(self, index: int) -> Any: ...

    @overload
    def __getitem__(self, index: slice) -> list[Any]: ...

    def __getitem__(self, index: int | slice) -> Any:
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._items)

    def fingerprint_value(self) -> str:
        if self._fingerprint is None:
            self._fingerprint = "shared:" + _digest(self._items)
        return self._fingerprint


def _digest(value: Any) -> str:
    encoded = json.dumps(value, default=fingerprint_default, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(encoded.encode()).hexdigest()


class _ReadItems(Mapping[str, Item]):
    """``Site.items`` as the views see it: every item looked up is noted as read
    ("head:<key>"), by whatever view is being made (``Views.recording``)."""

    __slots__ = ("_items", "_views")

    def __init__(self, items: Mapping[str, Item], views: Views) -> None:
        self._items = items
        self._views = views

    def __getitem__(self, key: str) -> Item:
        item = self._items[key]
        self._views.note((HEAD + key,))
        return item

    def __iter__(self) -> Iterator[str]:
        self._views.note((ANY_HEAD,))  # a view over every item reads every item
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


# An item's front matter as views read it, by its key ("head:presse/x.md").
HEAD = "head:"
# Read by a view that goes through all items: any item's change may change it.
ANY_HEAD = HEAD + "*"


class Views:
    """Builds views for one site; card views are memoised because lists repeat them.

    Which items a page's view looks up is recorded (``recording``), so that a change
    to one item's front matter makes only the pages that show it again
    (render/pages.py). Every item is reached through ``site.items``; a memoised part
    (a card, a shared list) keeps the items it was made from and notes them again
    whenever it is used. The site-wide part is the exception (``site_reads``).
    """

    def __init__(self, site: Site, bodies: Bodies, media: Media | None = None) -> None:
        self.site = dataclasses.replace(site, items=_ReadItems(site.items, self))
        self._recorders: list[set[str]] = []
        self._site_reads: frozenset[str] = frozenset()
        # What views read of the model's structure alone (its frame: addresses, orders,
        # publication state) is not recorded: a change to it examines every page anyway.
        self._smart_city = frozenset(site.smart_city_projects)
        self._unrecorded = site
        self.bodies = bodies
        self.media = media
        self.base = site.config.base_path
        # "seit" or "ab" in a project's period (the build's "now", in the site's zone).
        self.today = site.now.astimezone(ZoneInfo(site.config.timezone)).date()
        self._cards: dict[str, SharedView] = {}
        self._site_common: View | None = None
        self._nav_entries: list[tuple[str, str]] = []
        self._site_views: dict[tuple[bool, ...], SharedView] = {}
        self._shared_lists: dict[Hashable, SharedList] = {}

    # --- what a view reads ------------------------------------------------------

    @contextlib.contextmanager
    def recording(self) -> Iterator[set[str]]:
        """The items looked up (directly, or by memoised parts used) while this is open."""
        reads: set[str] = set()
        self._recorders.append(reads)
        try:
            yield reads
        finally:
            self._recorders.pop()

    def note(self, reads: Iterable[str]) -> None:
        for recorder in self._recorders:
            recorder.update(reads)

    # --- urls ------------------------------------------------------------------

    def href(self, url: str) -> str:
        return self.base + url

    def absolute(self, url: str) -> str:
        return self.site.config.base_url + url

    # --- shared parts ------------------------------------------------------------

    def site_view(self, current_url: str) -> SharedView:
        """The site-wide view; one shared copy per way the navigation marks the current page."""
        common = self._common()
        current = tuple(current_url.startswith(url) for _, url in self._nav_entries)
        if current not in self._site_views:
            nav = [
                {"title": title, "url": self.href(url), "current": flag}
                for (title, url), flag in zip(self._nav_entries, current, strict=True)
            ]
            self._site_views[current] = SharedView({**common, "nav": nav})
        return self._site_views[current]

    def shared_list(self, key: Hashable, make: Callable[[], list[Any]]) -> SharedList:
        """A list many pages show alike (e.g. the archive's years), made and hashed once."""
        if key not in self._shared_lists:
            with self.recording() as reads:
                items = make()
            self._shared_lists[key] = SharedList(items, tuple(sorted(reads)))
        shared = self._shared_lists[key]
        self.note(shared.reads)
        return shared

    def _common(self) -> View:
        if self._site_common is None:
            # Its reads are not noted for the pages that show it: all of them do, and 30,000
            # records naming the same menu pages cost the preview 100 MB (issue 15). A change
            # to one of them examines every page instead (``site_reads``, render/pages.py).
            outer, reads = self._recorders, set[str]()
            self._recorders = [reads]
            try:
                self._site_common = self._site_common_view()
            finally:
                self._recorders = outer
            self._site_reads = frozenset(reads)
        return self._site_common

    def kind_of(self, key: str) -> SourceKind:
        """An item's kind, not recorded as a read: it follows from where its file is,
        which the model's frame holds (a topic's feed sorts all its items by kind but
        shows twenty of them)."""
        return self._unrecorded.items[key].kind

    def site_reads(self) -> frozenset[str]:
        """The items the part every page shows alike looks up ("head:<key>"): the menu's
        and footer's pages, those the accessibility links name."""
        self._common()
        return self._site_reads

    def _site_common_view(self) -> View:
        """What every page shows alike; made once, not for each of 10,000 pages."""
        config, s = self.site.config, self.site.config.sections
        self._nav_entries = [
            ("Projekte", f"{s.projects}/"),
            ("Smart City", f"{s.smart_city}/"),
            ("Presse", f"{s.press}/"),
            ("Themen", f"{s.topics}/"),
        ] + [
            (self.site.items[k].title, self.site.items[k].url)
            for k in self.site.pages
            if self.site.items[k].meta["menu"]
        ]
        return {
            "title": config.title,
            "description": config.description,
            "language": config.language,
            "base_url": config.base_url,
            "home_url": self.href(""),
            "feed_url": self.href(f"{s.press}/feed.xml"),
            "projects_url": self.href(f"{s.projects}/"),
            "smart_city_url": self.href(f"{s.smart_city}/"),
            "press_url": self.href(f"{s.press}/"),
            "topics_url": self.href(f"{s.topics}/"),
            "search_url": self.href(SEARCH_URL),
            "footer_links": [
                {"title": self.site.items[k].title, "url": self.href(self.site.items[k].url)}
                for k in self.site.pages
            ],
            "organisation": {
                "name": config.organisation_name,
                "url": config.organisation_url or config.base_url,
            },
            "csp": content_security_policy(config.iframe_hosts),
            "noindex": config.preview,
            "theme_css_url": self.href(self.site.assets[THEME_CSS]) if config.theme else None,
            "logo_url": self.href(config.theme.logo)
            if config.theme and config.theme.logo
            else None,
            "preview_banner": "Vorschau – nicht veröffentlicht" if config.preview_banner else None,
            "access": site_links(self.site, self.href),
        }

    def page_view(self, route: Route, title: str, description: str = "", **extra: Any) -> View:
        email = self._common()["access"]["feedback_email"]
        view: View = {
            "kind": route.kind,
            "title": title,
            "description": description,
            "url": self.href(route.url),
            "canonical_url": self.absolute(route.url),
            "og_type": "website",
            "og_image": self.og_image(None),
            "json_ld": None,
            "breadcrumbs": [{"title": "Startseite", "url": self.href("")}] if route.url else [],
            "banner": None,
            # Per page: the prepared e-mail names this page (BITV 2.0 § 7, feedback).
            "report_barrier_url": feedback_mailto(
                email, title or self.site.config.title, self.absolute(route.url)
            )
            if email
            else None,
        }
        view.update(extra)
        return view

    def tag_links(self, item: Item) -> list[View]:
        topics = self.site.config.sections.topics
        return [
            {"name": self.site.tags[slug].name, "url": self.href(f"{topics}/{slug}/")}
            for slug in item.tag_slugs
            if slug in self.site.tags
        ]

    def image(self, item: Item) -> View | None:
        """The lead image (``image:``), as ``picture`` views it."""
        meta = item.meta
        if not meta.get("image"):
            return None
        return self.picture(
            meta["image"], meta["image_alt"], meta.get("image_caption"), meta.get("image_credit")
        )

    def _picture_of(self, src: str) -> Picture | None:
        return self.media.pictures.get(src) if self.media is not None else None

    def picture(self, src: str, alt: str, caption: str | None, credit: str | None) -> View:
        """One image as templates show it (docs/templates.md, partials/picture.html):
        ``sources`` and the fallback for ``<picture>``, its pixel size, caption, credit,
        and for raster images the download of the original."""
        picture = self._picture_of(src)
        credit = credit or (picture.credit if picture is not None else None)
        view: View = {
            "url": self.href(src),
            "alt": alt,
            "caption": smarten(caption) if caption else None,
            "credit": credit,
            "width": picture.width if picture is not None and picture.width else None,
            "height": picture.height if picture is not None and picture.height else None,
            "sources": [],
            "fallback": self.href(src),
            "fallback_srcset": None,
            "download": None,
        }
        if picture is None or picture.is_svg:
            return view
        webp, fallback = picture.of_kind("webp"), picture.of_kind("fallback")
        if webp:
            view["sources"] = [{"type": webp[0].type, "srcset": self._srcset(webp)}]
        if fallback:
            view["fallback"] = self.href(fallback[min(1, len(fallback) - 1)].path)
            view["fallback_srcset"] = self._srcset(fallback)
        view["download"] = {
            "url": self.href(src),
            "name": src.rsplit("/", 1)[-1],
            "label": download_label(picture),
        }
        return view

    def _srcset(self, variants: Sequence[Any]) -> str:
        return ", ".join(f"{self.href(v.path)} {v.width}w" for v in variants)

    def photos(self, item: Item) -> list[View]:
        """``images:``: the press photos of a release, the gallery of a project."""
        return [
            self.picture(e["src"], e["alt"], e.get("caption"), e.get("credit"))
            for e in item.meta.get("images") or ()
        ]

    def og_image(self, item: Item | None) -> View | None:
        """``og:image``: the 1200 × 630 crop of the lead image, else the site's image."""
        config = self.site.config
        src, alt = (
            (item.meta.get("image"), item.meta.get("image_alt"))
            if item is not None
            else (None, None)
        )
        picture = self._picture_of(src) if src else None
        if picture is None or not picture.of_kind("og"):
            src, alt = config.default_image, config.default_image_alt
            picture = self._picture_of(src) if src else None
        if picture is None or not picture.of_kind("og"):
            return None
        crop = picture.of_kind("og")[0]
        return {
            "url": self.absolute(crop.path),
            "width": crop.width,
            "height": crop.height,
            "alt": alt,
        }

    def image_objects(self, item: Item, credits_only: bool = False) -> list[dict[str, Any]]:
        """schema.org ``ImageObject``s of the lead image and ``images:``, with credit."""
        meta = item.meta
        entries = []
        if meta.get("image"):
            entries.append((meta["image"], meta.get("image_caption"), meta.get("image_credit")))
        entries += [(e["src"], e.get("caption"), e.get("credit")) for e in meta.get("images") or ()]
        objects = []
        for src, caption, credit in entries:
            picture = self._picture_of(src)
            credit = credit or (picture.credit if picture is not None else None)
            data: dict[str, Any] = {
                "@type": "ImageObject",
                "contentUrl": self.absolute(src),
                "url": self.absolute(src),
            }
            if picture is not None and picture.width:
                data["width"] = picture.width
                data["height"] = picture.height
            if caption:
                data["caption"] = smarten(caption)
            if credit:
                data["creditText"] = credit
                notice = picture.copyright if picture is not None else None
                data["copyrightNotice"] = notice or copyright_from_credit(credit)
            objects.append(data)
        return objects

    def summary(self, item: Item) -> str:
        """Its summary, or its first paragraph shortened. Wherever a page shows it, it
        also shows the card or the body that carries the read (``fingerprint``)."""
        if item.meta.get("summary"):
            return smarten(item.meta["summary"])
        return shorten(self.bodies.items[item.key].first_paragraph)

    def body_html(self, key: str) -> LazyHtml:
        return self._lazy(self.bodies.items[key], f"body:{key}")

    def _lazy(self, info: BodyInfo, read: str) -> LazyHtml:
        if not info.images:
            return LazyHtml(self.bodies.store, info, read)
        views: dict[BodyImage, View | None] = {}
        for image in info.images:
            src = body_image_src(self.site, image.url)
            views[image] = (
                self.picture(src, image.alt, image.caption, image.credit) if src else None
            )
        pictures = _digest([[repr(image), view] for image, view in views.items()])
        return LazyHtml(
            self.bodies.store,
            info,
            read,
            lambda html: with_pictures(html, info.images, views.get),
            pictures,
        )

    def page_extras(self, item: Item) -> View:
        """The accessibility parts of a plain page (render/accessibility.py)."""
        return page_extras(self.site, item, self.href, self.contact, phone_uri)

    # --- cards -------------------------------------------------------------------

    def card(self, key: str) -> SharedView:
        if key not in self._cards:
            with self.recording() as reads:
                item = self.site.items[key]
                build = {SourceKind.PROJECT: self._project_card, SourceKind.PRESS: self._press_card}
                view = build.get(item.kind, self._page_card)(item)
            self._cards[key] = SharedView(view, reads=(f"summary:{key}", *sorted(reads)))
        card = self._cards[key]
        self.note(card.reads)
        return card

    def _project_card(self, item: Item) -> View:
        meta = item.meta
        return {
            "title": item.title,
            "url": self.href(item.url),
            "summary": self.summary(item),
            "smart_city": meta["smart_city"],
            "status": meta["status"],
            "status_label": STATUS_LABELS[meta["status"]],
            "tags": self.tag_links(item),
            "image": self.image(item),
            "period": period_text(meta.get("start"), meta.get("end"), self.today),
            "notice": notice(item),
        }

    def _press_card(self, item: Item) -> View:
        meta = item.meta
        projects = self.site.release_projects.get(item.key, ())
        return {
            "title": item.title,
            "subtitle": smarten(meta["subtitle"]) if meta.get("subtitle") else None,
            "url": self.href(item.url),
            "date": item.date if _has_time(meta["date"]) else meta["date"],
            "summary": self.summary(item),
            "tags": self.tag_links(item),
            "smart_city": any(p in self._smart_city for p in projects),
            "image": self.image(item),
            "notice": notice(item),
        }

    def _page_card(self, item: Item) -> View:
        return {
            "title": item.title,
            "url": self.href(item.url),
            "summary": self.summary(item),
            "notice": notice(item),
        }

    def cards(self, keys: tuple[str, ...] | list[str]) -> list[SharedView]:
        return [self.card(k) for k in keys]

    def search_view(self) -> View:
        """The search page: where Pagefind's script is, and the filters it offers.

        Filter names and values must match the ``data-pagefind-filter``
        attributes of the detail templates (docs/search.md).
        """
        return {
            "pagefind_url": self.href("pagefind/pagefind.js"),
            # Further shards of the index, merged in the browser (search/indexer.py). Their
            # number follows from the routes and what is published, the model's frame: not
            # recorded, or this one page would name every item as read.
            "merge_urls": [self.href(folder) for folder in merged_bundles(self._unrecorded)],
            "filters": [
                {
                    "name": "typ",
                    "legend": "Art",
                    "options": [
                        {"value": "Projekt", "label": "Projekte"},
                        {"value": "Pressemitteilung", "label": "Pressemitteilungen"},
                        {"value": "Seite", "label": "Seiten"},
                    ],
                },
                {
                    "name": "smart_city",
                    "legend": "Smart City",
                    "options": [{"value": "Smart City", "label": "Nur Smart-City-Projekte"}],
                },
                {
                    "name": "thema",
                    "legend": "Themen",
                    "options": [
                        {"value": t.name, "label": t.name} for t in self.site.tags.values()
                    ],
                },
            ],
        }

    # --- detail views --------------------------------------------------------------

    def contact(self, ident: str) -> View:
        data: Mapping[str, Any] = self.site.contacts[ident]
        phone = data.get("phone")
        card = self.site.contact_card_url(ident)
        return {
            "name": data["name"],
            "organisation": data.get("organisation"),
            "role": data.get("role"),
            "email": data.get("email"),
            "phone": phone,
            "phone_uri": phone_uri(phone) if phone else None,
            "address": list(data.get("address") or ()),
            "vcard_url": self.href(card) if self.site.url_exists(card) else None,
        }

    def project(self, key: str) -> View:
        item = self.site.items[key]
        meta = item.meta
        return {
            **self.card(key),
            "body_html": self.body_html(key),
            "partners": list(meta["partners"]),
            "funding": meta.get("funding"),
            "contact": self.contact(meta["contact"]) if meta.get("contact") else None,
            "website": meta.get("website"),
            "press_releases": self.cards(self.site.project_releases.get(key, ())),
            "feed_url": self.href(item.url + FEED_FILE),
            "gallery": self.photos(item),
        }

    def release(self, key: str) -> View:
        item = self.site.items[key]
        location = item.meta.get("location") or self.site.config.default_location
        return {
            **self.card(key),
            "dateline": self._dateline(item),
            "location": location,
            "body_html": self.body_html(key),
            "projects": self.cards(self.site.release_projects.get(key, ())),
            "contacts": [self.contact(c) for c in self.site.release_contacts(key)],
            "boilerplate_html": self._release_boilerplate(item),
            "text_url": self.href(item.url + PRESS_TEXT_FILE),
            "email_url": self.href(item.url + PRESS_EMAIL_FILE),
            "photos": self.photos(item),
            "photos_zip": self.photos_zip(key),
        }

    def photos_zip(self, key: str) -> View | None:
        """„Alle Pressefotos als ZIP“: the archive of a release's originals."""
        published = self.media.zips.get(key) if self.media is not None else None
        if published is None:
            return None
        size = published.source.stat().st_size
        return {"url": self.href(published.path), "size": file_size_text(size)}

    def photo_credits(self, item: Item) -> list[str]:
        """The credits of a release's photos, lead image first, each once: from the front
        matter, else embedded in the file (media/)."""
        meta = item.meta
        entries = [(meta["image"], meta.get("image_credit"))] if meta.get("image") else []
        entries += [(e["src"], e.get("credit")) for e in meta.get("images") or ()]
        credits = []
        for src, credit in entries:
            picture = self._picture_of(src)
            credits.append(credit or (picture.credit if picture is not None else None))
        return list(dict.fromkeys(smarten(c) for c in credits if c))

    def press_file(self, key: str) -> View:
        """What the text and e-mail versions of a release show (render/newsroom.py): no
        cards, so a change elsewhere on the release page leaves them as they are."""
        item = self.site.items[key]
        meta, config = item.meta, self.site.config
        archive = self.media.zips.get(key) if self.media is not None else None
        return {
            "title": item.title,
            "subtitle": smarten(meta["subtitle"]) if meta.get("subtitle") else None,
            "date": item.date,
            "dateline": self._dateline(item),
            "body_html": self.body_html(key),
            "boilerplate_html": self._release_boilerplate(item),
            "contacts": [self.contact(c) for c in self.site.release_contacts(key)],
            "photo_credits": self.photo_credits(item),
            "photos_zip_url": self.absolute(archive.path) if archive is not None else None,
            "absolute_url": self.absolute(item.url),
            "base_url": config.base_url,
            "language": config.language,
        }

    def _dateline(self, item: Item) -> str:
        assert item.date is not None
        location = item.meta.get("location") or self.site.config.default_location
        day = date_long(item.date)
        return f"{location}, {day} –" if location else f"{day} –"

    def _release_boilerplate(self, item: Item) -> LazyHtml | None:
        boilerplate = item.meta.get("boilerplate")
        if boilerplate is None:
            boilerplate = self.site.config.default_boilerplate
        return self.boilerplate_html(boilerplate) if isinstance(boilerplate, str) else None

    def boilerplate_html(self, name: str) -> LazyHtml:
        return self._lazy(self.bodies.boilerplates[name], f"boilerplate:{name}")

    def banner(self, item: Item) -> str | None:
        if item.is_draft:
            return "Entwurf – diese Seite ist nicht veröffentlicht."
        if item.is_future and item.date is not None:
            return f"Sperrfrist bis {date_time_long(item.date)} – noch nicht veröffentlicht."
        return None

    def news_article_ld(self, item: Item, description: str) -> str:
        config = self.site.config
        assert item.date is not None
        publisher = {
            "@type": "Organization",
            "name": config.organisation_name,
            "url": config.organisation_url or config.base_url,
        }
        data: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": item.title,
            "description": description,
            "datePublished": item.date.isoformat(),
            "url": self.absolute(item.url),
            "mainEntityOfPage": self.absolute(item.url),
            "inLanguage": config.language,
            "author": publisher,
            "publisher": publisher,
        }
        images = self.image_objects(item)
        if images:
            data["image"] = images
        return json_ld(data)

    def project_ld(self, item: Item, description: str) -> str | None:
        """A profile with images: its page and their credits (``creditText``) as JSON-LD."""
        images = self.image_objects(item)
        if not images:
            return None
        return json_ld(
            {
                "@context": "https://schema.org",
                "@type": "WebPage",
                "name": item.title,
                "description": description,
                "url": self.absolute(item.url),
                "inLanguage": self.site.config.language,
                "image": images,
            }
        )

    def organisation_ld(self) -> str:
        config = self.site.config
        return json_ld(
            {
                "@context": "https://schema.org",
                "@type": "Organization",
                "name": config.organisation_name,
                "url": config.organisation_url or config.base_url,
            }
        )


def notice(item: Item) -> str | None:
    """Why an item is not public: "Entwurf" or "Sperrfrist bis 1. März 2027, 10:00 Uhr".

    Only drafts and embargoed items have one, and only the preview (``serve``,
    ``build --preview``) or a ``--drafts``/``--future`` build includes them; on
    the published site no card and no page carries a notice.
    """
    if item.is_draft:
        return "Entwurf"
    if item.is_future and item.date is not None:
        return f"Sperrfrist bis {date_time_long(item.date)}"
    return None


def content_security_policy(iframe_hosts: Sequence[str]) -> str:
    """The pages' Content-Security-Policy (a meta tag; docs/security.md lists the headers).

    Everything comes from the site itself: no inline script or style, no plugins,
    no foreign images or fonts (visitors' addresses are not handed to third parties).
    'wasm-unsafe-eval' lets Pagefind compile its WebAssembly search engine; frames
    only from the hosts in ``iframe_hosts`` (the sanitiser allows https only).
    """
    frames = " ".join(f"https://{host}" for host in iframe_hosts) or "'none'"
    return (
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; "
        "img-src 'self'; font-src 'self'; connect-src 'self'; "
        f"frame-src {frames}; object-src 'none'; base-uri 'self'; form-action 'self'"
    )


def shorten(text: str, limit: int = 240) -> str:
    """A default summary: the first paragraph, cut at a word boundary for cards and meta tags.

    Whole words only (a first word longer than ``limit`` is kept whole), single
    spaces, and no comma, colon or dash left dangling before the " …".
    """
    if len(text) <= limit:
        return text
    words = text.split()
    kept: list[str] = []
    length = -1
    for word in words:
        length += 1 + len(word)
        if length > limit and kept:
            break
        kept.append(word)
    if len(kept) == len(words):
        return " ".join(kept)  # only the spacing made it long
    while len(kept) > 1 and kept[-1] in _DANGLING:
        kept.pop()  # a dash or ellipsis standing alone before the cut
    kept[-1] = kept[-1].rstrip(",;:")
    return " ".join(kept) + " …"


# Words that make no sense as the last before " …".
_DANGLING = frozenset({"–", "—", "-", "…", "...", "und", "oder", "&"})


def json_ld(data: Mapping[str, Any]) -> str:
    # Inside <script>, "</script" ends the element and "<!--" followed by "<script"
    # switches the HTML parser into a state where the real end tag is missed and the
    # page after it is swallowed; JSON's \u escapes keep every "<" out (as Django's
    # json_script does). The data are titles and summaries, written by editors.
    # str.replace, not str.translate: translate with a mapping is ~10× slower, and this
    # runs for every release page.
    encoded = json.dumps(data, ensure_ascii=False, sort_keys=True)
    return encoded.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def phone_uri(phone: str) -> str:
    """ "+49 (0) 631 205 894 70" → "tel:+4963120589470"."""
    digits = re.sub(r"\(0\)", "", phone)
    digits = re.sub(r"[^\d+]", "", digits)
    return f"tel:{digits}"


def _has_time(value: Any) -> bool:
    return isinstance(value, dt.datetime)
