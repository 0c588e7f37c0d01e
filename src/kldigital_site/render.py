"""Render every route: ``Site`` + ``Bodies`` + templates → ``Output`` files.

Input: the model, the rendered Markdown bodies and the template folder. Output:
``Output`` values (site-relative path and bytes) in route order, or
``BuildFailed`` with every template error positioned at the template's path and
line. Jinja2 runs with autoescaping and ``StrictUndefined``, so a misspelt
variable is an error rather than blank output (the Lektor ``BadValue``
anti-pattern). Feeds and the sitemap come from ``feeds.py``.
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path
from typing import Any

import jinja2

from kldigital_site import dates
from kldigital_site.config import SiteConfig
from kldigital_site.errors import SiteError
from kldigital_site.model import Route, Site
from kldigital_site.output import Output
from kldigital_site.views import PAGE_TITLES, SharedList, Views

ASSETS_DIR = "assets"

TEMPLATES = {
    "home": "home.html",
    "project_list": "project_list.html",
    "smart_city": "project_list.html",
    "project": "project.html",
    "press_list": "press_list.html",
    "press_year": "press_year.html",
    "press_release": "press_release.html",
    "topics": "topics.html",
    "topic": "topic.html",
    "page": "page.html",
    "not_found": "404.html",
    "search": "search.html",
}


class RecordingEnvironment(jinja2.Environment):
    """Records the name of every template loaded while ``recorded`` is a set.

    Jinja loads extended, included and imported templates through
    ``_load_template`` (cache hits included), so this sees exactly what one
    render used (Lektor ``_load_template``). Jinja offers no way to pass the set
    explicitly, hence the field; ``pages.py`` sets and clears it around a render.
    """

    recorded: set[str] | None = None

    def _load_template(self, name: Any, globals: Any) -> jinja2.Template:
        if self.recorded is not None and isinstance(name, str):
            self.recorded.add(name)
        return super()._load_template(name, globals)


def make_environment(config: SiteConfig) -> RecordingEnvironment:
    env = RecordingEnvironment(
        loader=jinja2.FileSystemLoader(str(config.templates_dir)),
        autoescape=jinja2.select_autoescape(("html", "xml"), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        date_long=dates.date_long,
        date_short=dates.date_short,
        month_year=dates.month_year,
        date_time_long=dates.date_time_long,
        iso=dates.iso,
    )
    base = config.base_path
    env.globals["asset"] = lambda path: f"{base}{ASSETS_DIR}/{path}"
    return env


def asset_files(config: SiteConfig) -> list[str]:
    """Theme files under templates/assets/, relative to that folder, sorted."""
    root = config.templates_dir / ASSETS_DIR
    if not root.is_dir():
        return []
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )


def page_context(views: Views, route: Route) -> dict[str, Any]:
    """The template name's variables for one route (docs/templates.md)."""
    site = views.site
    title = PAGE_TITLES.get(route.kind) or ""
    context: dict[str, Any] = {}
    page_extra: dict[str, Any] = {}
    description = ""
    if route.kind == "home":
        title = site.config.title
        description = site.config.description
        page_extra["json_ld"] = views.organisation_ld()
        context.update(
            latest_releases=views.cards(site.releases[: site.config.home_releases]),
            smart_city_projects=views.cards(site.smart_city_projects),
            project_count=len(site.projects),
            release_count=len(site.releases),
        )
    elif route.kind in ("project_list", "smart_city"):
        smart = route.kind == "smart_city"
        keys = site.smart_city_projects if smart else site.projects
        description = (
            "Die Modellprojekte Smart Cities in unserer Stadt."
            if smart
            else "Steckbriefe aller Digitalisierungsprojekte."
        )
        context.update(
            projects=views.cards(keys),
            smart_city_only=smart,
            heading=title,
            intro=description,
        )
    elif route.kind == "project" and route.item:
        item = site.items[route.item]
        project = views.project(route.item)
        title, description = item.title, project["summary"]
        context["project"] = project
        page_extra.update(
            og_image=views.absolute(item.meta["image"]) if item.meta.get("image") else None,
            banner=views.banner(item),
            breadcrumbs=_crumbs(views, ("Projekte", f"{site.config.sections.projects}/")),
        )
    elif route.kind == "press_list":
        number = route.page_number
        title = "Pressemitteilungen" + (f" – Seite {number}" if number > 1 else "")
        description = "Alle Pressemitteilungen, die neuesten zuerst."
        context.update(
            releases=views.cards(site.press_page(number)),
            pagination=_pagination(views, number, site.press_page_count()),
            years=_years(views, None),
        )
    elif route.kind == "press_year" and route.year is not None:
        title = f"Pressemitteilungen {route.year}"
        description = f"Pressemitteilungen aus dem Jahr {route.year}."
        context.update(
            year=route.year,
            releases=views.cards(site.years[route.year]),
            years=_years(views, route.year),
        )
        page_extra["breadcrumbs"] = _crumbs(views, ("Presse", f"{site.config.sections.press}/"))
    elif route.kind == "press_release" and route.item:
        item = site.items[route.item]
        release = views.release(route.item)
        title, description = item.title, release["summary"]
        context["release"] = release
        page_extra.update(
            og_type="article",
            og_image=views.absolute(item.meta["image"]) if item.meta.get("image") else None,
            json_ld=views.news_article_ld(item, description),
            banner=views.banner(item),
            breadcrumbs=_crumbs(views, ("Presse", f"{site.config.sections.press}/")),
        )
    elif route.kind == "topics":
        description = "Alle Themen, zu denen es Projekte und Pressemitteilungen gibt."
        context["topics"] = [
            {
                "name": tag.name,
                "url": views.href(f"{site.config.sections.topics}/{slug}/"),
                "count": len(tag.item_keys),
            }
            for slug, tag in site.tags.items()
        ]
    elif route.kind == "topic" and route.tag:
        tag = site.tags[route.tag]
        title = f"Thema: {tag.name}"
        description = f"Projekte und Pressemitteilungen zum Thema {tag.name}."
        members = set(tag.item_keys)
        context.update(
            topic={"name": tag.name, "url": views.href(route.url)},
            projects=views.cards([k for k in site.projects if k in members]),
            releases=views.cards([k for k in site.releases if k in members]),
            pages=views.cards([k for k in site.pages if k in members]),
        )
        page_extra["breadcrumbs"] = _crumbs(views, ("Themen", f"{site.config.sections.topics}/"))
    elif route.kind == "page" and route.item:
        item = site.items[route.item]
        summary = views.summary(item)
        title, description = item.title, summary
        context["content_page"] = {
            "title": item.title,
            "summary": views.site.items[route.item].meta.get("summary") and summary,
            "body_html": views.body_html(route.item),
        }
        page_extra["banner"] = views.banner(item)
    elif route.kind == "search":
        description = "Volltextsuche über Projekte, Pressemitteilungen und Seiten."
        context["search"] = views.search_view()
    context["site"] = views.site_view(route.url)
    context["page"] = views.page_view(route, title, description, **page_extra)
    return context


def _crumbs(views: Views, *entries: tuple[str, str]) -> list[dict[str, str]]:
    return [{"title": "Startseite", "url": views.href("")}] + [
        {"title": title, "url": views.href(url)} for title, url in entries
    ]


def _pagination(views: Views, current: int, total: int) -> dict[str, Any]:
    site = views.site

    def url(n: int) -> str:
        return views.href(site.press_page_url(n))

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


def copied_files(site: Site) -> list[Output]:
    """Media from content/medien/ and theme files from templates/assets/, copied verbatim."""
    outputs = [Output(media.content_path, source=media.path) for media in site.media]
    assets = site.config.templates_dir / ASSETS_DIR
    outputs += [
        Output(f"{ASSETS_DIR}/{name}", source=assets / name) for name in asset_files(site.config)
    ]
    return outputs


class TemplateProblem(Exception):
    def __init__(self, error: SiteError) -> None:
        super().__init__(str(error))
        self.error = error


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    templates_dir = (
        Path(env.loader.searchpath[0])
        if isinstance(env.loader, jinja2.FileSystemLoader)
        else Path()
    )
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateSyntaxError as exc:
        raise TemplateProblem(
            SiteError(
                _template_path(templates_dir, exc.filename or name),
                exc.lineno or 0,
                f"Template-Syntaxfehler: {exc.message}",
            )
        ) from exc
    except jinja2.TemplateNotFound as exc:
        raise TemplateProblem(
            SiteError(
                _template_path(templates_dir, name), 0, f"Template „{exc.name}“ nicht gefunden."
            )
        ) from exc
    except Exception as exc:
        path, line = _template_frame(exc, templates_dir, name)
        raise TemplateProblem(SiteError(path, line, f"Template-Fehler: {_explain(exc)}")) from exc


def _explain(exc: Exception) -> str:
    """Jinja's messages for the commonest slip, a misspelt name, in German."""
    message = str(exc)
    if isinstance(exc, jinja2.UndefinedError):
        attribute = re.search(r"has no attribute '([^']*)'", message)
        if attribute:
            return f"„{attribute[1]}“ gibt es hier nicht (Tippfehler?)."
        variable = re.fullmatch(r"'([^']*)' is undefined", message)
        if variable:
            return f"Die Variable „{variable[1]}“ ist nicht definiert (Tippfehler?)."
    return message


def _template_path(templates_dir: Path, filename: str) -> str:
    path = Path(filename)
    if not path.is_absolute():
        path = templates_dir / path
    try:
        return path.resolve().relative_to(templates_dir.resolve().parent).as_posix()
    except ValueError:
        return path.as_posix()


def _template_frame(exc: BaseException, templates_dir: Path, name: str) -> tuple[str, int]:
    """The innermost traceback frame inside templates/: Jinja maps it to the template line."""
    root = str(templates_dir.resolve())
    found = (_template_path(templates_dir, name), 0)
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename.startswith(root):
            found = (_template_path(templates_dir, frame.filename), frame.lineno or 0)
    return found
