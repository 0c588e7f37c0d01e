"""The variables each kind of page hands its template (docs/templates.md).

Input: the ``Views`` of one build and a ``Route``. Output: the template context,
a mapping with ``site``, ``page`` and the kind's own variables. One small function
per ``RouteKind`` in ``_CONTEXTS``; a kind without one (the 404 page) gets only
its title from ``PAGE_TITLES``. The newsroom's files (``_FILES``) get their
view alone, without ``site`` and ``page``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kldigital_site.content.discover import SourceKind
from kldigital_site.model import FEED_FILE, Route, RouteKind
from kldigital_site.render import feeds
from kldigital_site.render.views import PAGE_TITLES, SharedList, Views, notice


@dataclass(slots=True)
class _Page:
    """What one kind decides: the page's title and description, its template
    variables, and extras for the ``page`` view (JSON-LD, banner, breadcrumbs …)."""

    title: str
    description: str = ""
    variables: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)


def page_context(views: Views, route: Route) -> dict[str, Any]:
    """The template's variables for one route; for a newsroom file, its view alone
    (what the file shows, so it is re-made exactly when that changes)."""
    if route.kind.is_newsroom_file:
        return _FILES[route.kind](views, route)
    make = _CONTEXTS.get(route.kind)
    page = make(views, route) if make else _Page(PAGE_TITLES.get(route.kind) or "")
    context = dict(page.variables)
    context["site"] = views.site_view(route.url)
    context["page"] = views.page_view(route, page.title, page.description, **page.extra)
    return context


def _home(views: Views, route: Route) -> _Page:
    site = views.site
    return _Page(
        site.config.title,
        site.config.description,
        {
            "latest_releases": views.cards(site.releases[: site.config.home_releases]),
            "smart_city_projects": views.cards(site.smart_city_projects),
            "project_count": len(site.projects),
            "release_count": len(site.releases),
        },
        {"json_ld": views.organisation_ld()},
    )


def _project_list(views: Views, route: Route) -> _Page:
    site = views.site
    smart = route.kind is RouteKind.SMART_CITY
    title = PAGE_TITLES[route.kind] or ""
    description = (
        "Die Modellprojekte Smart Cities in unserer Stadt."
        if smart
        else "Steckbriefe aller Digitalisierungsprojekte."
    )
    return _Page(
        title,
        description,
        {
            "projects": views.cards(site.smart_city_projects if smart else site.projects),
            "smart_city_only": smart,
            "heading": title,
            "intro": description,
        },
    )


def _project(views: Views, route: Route) -> _Page:
    assert route.item is not None
    site = views.site
    item = site.items[route.item]
    project = views.project(route.item)
    return _Page(
        item.title,
        project["summary"],
        {"project": project},
        {
            "og_image": views.og_image(item),
            "json_ld": views.project_ld(item, project["summary"]),
            "banner": views.banner(item),
            "breadcrumbs": _crumbs(views, ("Projekte", f"{site.config.sections.projects}/")),
        },
    )


def _press_list(views: Views, route: Route) -> _Page:
    site = views.site
    number = route.page_number
    return _Page(
        "Pressemitteilungen" + (f" – Seite {number}" if number > 1 else ""),
        "Alle Pressemitteilungen, die neuesten zuerst.",
        {
            "releases": views.cards(site.press_page(number)),
            "pagination": _pagination(views, number, site.press_page_count(), site.press_page_url),
            "years": _years(views, None),
        },
    )


def _press_year(views: Views, route: Route) -> _Page:
    assert route.year is not None
    site = views.site
    return _Page(
        f"Pressemitteilungen {route.year}",
        f"Pressemitteilungen aus dem Jahr {route.year}.",
        {
            "year": route.year,
            "releases": views.cards(site.years[route.year]),
            "years": _years(views, route.year),
        },
        {"breadcrumbs": _crumbs(views, ("Presse", f"{site.config.sections.press}/"))},
    )


def _press_release(views: Views, route: Route) -> _Page:
    assert route.item is not None
    site = views.site
    item = site.items[route.item]
    release = views.release(route.item)
    description = release["summary"]
    return _Page(
        item.title,
        description,
        {"release": release},
        {
            "og_type": "article",
            "og_image": views.og_image(item),
            "json_ld": views.news_article_ld(item, description),
            "banner": views.banner(item),
            "breadcrumbs": _crumbs(views, ("Presse", f"{site.config.sections.press}/")),
        },
    )


def _topics(views: Views, route: Route) -> _Page:
    site = views.site
    topics = [
        {
            "name": tag.name,
            "url": views.href(f"{site.config.sections.topics}/{slug}/"),
            "count": len(tag.item_keys),
        }
        for slug, tag in site.tags.items()
    ]
    return _Page(
        PAGE_TITLES[route.kind] or "",
        "Alle Themen, zu denen es Projekte und Pressemitteilungen gibt.",
        {"topics": topics},
    )


def _topic(views: Views, route: Route) -> _Page:
    assert route.tag is not None
    site, slug, number = views.site, route.tag, route.page_number
    tag = site.tags[slug]
    shown = site.topic_page(slug, number)
    kinds = {key: views.kind_of(key) for key in shown}
    crumbs = [("Themen", f"{site.config.sections.topics}/")]
    if number > 1:
        crumbs.append((tag.name, site.topic_page_url(slug, 1)))
    return _Page(
        f"Thema: {tag.name}" + (f" – Seite {number}" if number > 1 else ""),
        f"Projekte und Pressemitteilungen zum Thema {tag.name}.",
        {
            "topic": {
                "name": tag.name,
                "url": views.href(site.topic_page_url(slug, 1)),
                "feed_url": views.href(f"{site.config.sections.topics}/{slug}/{FEED_FILE}"),
            },
            "projects": views.cards([k for k in shown if kinds[k] is SourceKind.PROJECT]),
            "releases": views.cards([k for k in shown if kinds[k] is SourceKind.PRESS]),
            "pages": views.cards([k for k in shown if kinds[k] is SourceKind.PAGE]),
            "pagination": _pagination(
                views,
                number,
                site.topic_page_count(slug),
                lambda n: site.topic_page_url(slug, n),
            ),
        },
        {"breadcrumbs": _crumbs(views, *crumbs)},
    )


def _content_page(views: Views, route: Route) -> _Page:
    assert route.item is not None
    item = views.site.items[route.item]
    summary = views.summary(item)
    return _Page(
        item.title,
        summary,
        {
            "content_page": {
                "title": item.title,
                "summary": item.meta.get("summary") and summary,
                "body_html": views.body_html(route.item),
                "notice": notice(item),
                **views.page_extras(item),
            }
        },
        {"banner": views.banner(item)},
    )


def _search(views: Views, route: Route) -> _Page:
    return _Page(
        PAGE_TITLES[route.kind] or "",
        "Volltextsuche über Projekte, Pressemitteilungen und Seiten.",
        {"search": views.search_view()},
    )


_CONTEXTS: dict[RouteKind, Callable[[Views, Route], _Page]] = {
    RouteKind.HOME: _home,
    RouteKind.PROJECT_LIST: _project_list,
    RouteKind.SMART_CITY: _project_list,
    RouteKind.PROJECT: _project,
    RouteKind.PRESS_LIST: _press_list,
    RouteKind.PRESS_YEAR: _press_year,
    RouteKind.PRESS_RELEASE: _press_release,
    RouteKind.TOPICS: _topics,
    RouteKind.TOPIC: _topic,
    RouteKind.PAGE: _content_page,
    RouteKind.SEARCH: _search,
}


# --- newsroom files (render/newsroom.py, render/feeds.py) ------------------------------


def _press_file(views: Views, route: Route) -> dict[str, Any]:
    assert route.item is not None
    return {"release": views.press_file(route.item)}


def _contact_card(views: Views, route: Route) -> dict[str, Any]:
    assert route.contact is not None
    return {"contact": views.contact(route.contact)}


def _topic_feed(views: Views, route: Route) -> dict[str, Any]:
    assert route.tag is not None
    site = views.site
    releases = [k for k in site.topic_items(route.tag) if views.kind_of(k) is SourceKind.PRESS]
    keys = releases[: site.config.feed_entries]
    name = site.tags[route.tag].name
    return {
        "feed": feeds.feed_view(
            views,
            keys,
            site.topic_page_url(route.tag, 1),
            f"Pressemitteilungen zum Thema {name} – {site.config.title}",
        )
    }


def _project_feed(views: Views, route: Route) -> dict[str, Any]:
    assert route.item is not None
    site = views.site
    item = site.items[route.item]
    keys = site.project_releases.get(route.item, ())[: site.config.feed_entries]
    title = f"Pressemitteilungen zum Projekt {item.title} – {site.config.title}"
    return {"feed": feeds.feed_view(views, keys, item.url, title)}


_FILES: dict[RouteKind, Callable[[Views, Route], dict[str, Any]]] = {
    RouteKind.PRESS_TEXT: _press_file,
    RouteKind.PRESS_EMAIL: _press_file,
    RouteKind.CONTACT_CARD: _contact_card,
    RouteKind.TOPIC_FEED: _topic_feed,
    RouteKind.PROJECT_FEED: _project_feed,
}


def _crumbs(views: Views, *entries: tuple[str, str]) -> list[dict[str, str]]:
    return [{"title": "Startseite", "url": views.href("")}] + [
        {"title": title, "url": views.href(url)} for title, url in entries
    ]


def _pagination(
    views: Views, current: int, total: int, page_url: Callable[[int], str]
) -> dict[str, Any]:
    def url(n: int) -> str:
        return views.href(page_url(n))

    return {
        "current": current,
        "total": total,
        "prev_url": url(current - 1) if current > 1 else None,
        "next_url": url(current + 1) if current < total else None,
        # Only the numbers a visitor sees: the first, the last and two either side of
        # the current one; listing all of them made 800 pages cost 640,000 links.
        "pages": [
            {"number": n, "url": url(n), "current": n == current}
            for n in sorted(
                {1, total} | set(range(max(1, current - 2), min(total, current + 2) + 1))
            )
        ],
    }


def _years(views: Views, current: int | None) -> SharedList:
    press = views.site.config.sections.press
    return views.shared_list(
        ("years", current),
        lambda: [
            {
                "year": year,
                "url": views.href(f"{press}/{year}/"),
                "count": len(keys),
                "current": year == current,
            }
            for year, keys in views.site.years.items()
        ],
    )
