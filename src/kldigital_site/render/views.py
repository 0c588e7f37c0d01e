"""Template-facing views: ``Site`` + rendered bodies → plain mappings.

Input: ``Site`` and ``Bodies``. Output: the views the page contexts are made of
(``render/contexts.py``; documented in docs/templates.md): cards, the site-wide
part, a project, a release, a contact. Templates never see model objects (Zola
``SerializingPage``); plain data also makes a page's inputs hashable, which is
what the render cache keys on (``fingerprint``, which also returns the bodies a
page reads).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from typing import Any, overload
from zoneinfo import ZoneInfo

from kldigital_site.content.discover import SourceKind
from kldigital_site.markdown.bodies import Bodies, BodyInfo, BodyStore
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
from kldigital_site.render.dates import date_long, date_time_long, period_text
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

    __slots__ = ("key", "reads", "store", "version")

    def __init__(self, store: BodyStore, info: BodyInfo, read: str) -> None:
        self.store = store
        self.key = info.key
        self.version = info.version
        self.reads = (read,)  # its signature's name (render/pages.py ``body_signatures``)

    def __html__(self) -> str:
        return self.store.html(self.key)

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

    __slots__ = ("_fingerprint", "_items")

    def __init__(self, items: list[Any]) -> None:
        self._items = items
        self._fingerprint: str | None = None

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


class Views:
    """Builds views for one site; card views are memoised because lists repeat them."""

    def __init__(self, site: Site, bodies: Bodies) -> None:
        self.site = site
        self.bodies = bodies
        self.base = site.config.base_path
        # "seit" or "ab" in a project's period (the build's "now", in the site's zone).
        self.today = site.now.astimezone(ZoneInfo(site.config.timezone)).date()
        self._cards: dict[str, SharedView] = {}
        self._site_common: View | None = None
        self._nav_entries: list[tuple[str, str]] = []
        self._site_views: dict[tuple[bool, ...], SharedView] = {}
        self._shared_lists: dict[Hashable, SharedList] = {}

    # --- urls ------------------------------------------------------------------

    def href(self, url: str) -> str:
        return self.base + url

    def absolute(self, url: str) -> str:
        return self.site.config.base_url + url

    # --- shared parts ------------------------------------------------------------

    def site_view(self, current_url: str) -> SharedView:
        """The site-wide view; one shared copy per way the navigation marks the current page."""
        if self._site_common is None:
            self._site_common = self._site_common_view()
        current = tuple(current_url.startswith(url) for _, url in self._nav_entries)
        if current not in self._site_views:
            nav = [
                {"title": title, "url": self.href(url), "current": flag}
                for (title, url), flag in zip(self._nav_entries, current, strict=True)
            ]
            self._site_views[current] = SharedView({**self._site_common, "nav": nav})
        return self._site_views[current]

    def shared_list(self, key: Hashable, make: Callable[[], list[Any]]) -> SharedList:
        """A list many pages show alike (e.g. the archive's years), made and hashed once."""
        if key not in self._shared_lists:
            self._shared_lists[key] = SharedList(make())
        return self._shared_lists[key]

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
            "theme_css_url": self.href(THEME_CSS) if config.theme else None,
            "logo_url": self.href(config.theme.logo)
            if config.theme and config.theme.logo
            else None,
            "preview_banner": "Vorschau – nicht veröffentlicht" if config.preview_banner else None,
        }

    def page_view(self, route: Route, title: str, description: str = "", **extra: Any) -> View:
        view: View = {
            "kind": route.kind,
            "title": title,
            "description": description,
            "url": self.href(route.url),
            "canonical_url": self.absolute(route.url),
            "og_type": "website",
            "og_image": None,
            "json_ld": None,
            "breadcrumbs": [{"title": "Startseite", "url": self.href("")}] if route.url else [],
            "banner": None,
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
        path = item.meta.get("image")
        if not path:
            return None
        return {"url": self.href(path), "alt": item.meta["image_alt"]}

    def summary(self, item: Item) -> str:
        """Its summary, or its first paragraph shortened. Wherever a page shows it, it
        also shows the card or the body that carries the read (``fingerprint``)."""
        if item.meta.get("summary"):
            return smarten(item.meta["summary"])
        return shorten(self.bodies.items[item.key].first_paragraph)

    def body_html(self, key: str) -> LazyHtml:
        return LazyHtml(self.bodies.store, self.bodies.items[key], f"body:{key}")

    # --- cards -------------------------------------------------------------------

    def card(self, key: str) -> SharedView:
        if key not in self._cards:
            item = self.site.items[key]
            build = {SourceKind.PROJECT: self._project_card, SourceKind.PRESS: self._press_card}
            view = build.get(item.kind, self._page_card)(item)
            self._cards[key] = SharedView(view, reads=(f"summary:{key}",))
        return self._cards[key]

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
            "smart_city": any(self.site.items[p].meta["smart_city"] for p in projects),
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
            # Further shards of the index, merged in the browser (search/indexer.py).
            "merge_urls": [self.href(folder) for folder in merged_bundles(self.site)],
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
        }

    def press_file(self, key: str) -> View:
        """What the text and e-mail versions of a release show (render/newsroom.py): no
        cards, so a change elsewhere on the release page leaves them as they are."""
        item = self.site.items[key]
        meta, config = item.meta, self.site.config
        return {
            "title": item.title,
            "subtitle": smarten(meta["subtitle"]) if meta.get("subtitle") else None,
            "date": item.date,
            "dateline": self._dateline(item),
            "body_html": self.body_html(key),
            "boilerplate_html": self._release_boilerplate(item),
            "contacts": [self.contact(c) for c in self.site.release_contacts(key)],
            "photo_credits": photo_credits(meta),
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
        return LazyHtml(self.bodies.store, self.bodies.boilerplates[name], f"boilerplate:{name}")

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
        if item.meta.get("image"):
            data["image"] = self.absolute(item.meta["image"])
        return json_ld(data)

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


def photo_credits(meta: Mapping[str, Any]) -> list[str]:
    """The credits of a release's photos, lead image first, each once.

    A hook for press photos (``image_credit`` and ``images``, content-model.md
    "Images"): while the schema has no such keys, there are none.
    """
    credits = [meta.get("image_credit")] if meta.get("image") else []
    credits += [entry.get("credit") for entry in meta.get("images") or ()]
    return list(dict.fromkeys(smarten(c) for c in credits if c))


def _has_time(value: Any) -> bool:
    return isinstance(value, dt.datetime)
