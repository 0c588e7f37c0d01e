"""The Jinja2 environment and one template render with positioned errors.

Input: the site settings (template folder, base path), a template name and its
context. Output: ``Staged`` with the rendered text, or with none and a
``SiteError`` at the template's path and line. Jinja2 runs with autoescaping and
``StrictUndefined``, so a misspelt variable is an error rather than blank output
(the Lektor ``BadValue`` anti-pattern). Also lists the theme's assets and the files
copied verbatim. What each template receives is made in ``render/contexts.py``;
the page loop is ``render/pages.py``.
"""

from __future__ import annotations

import re
import traceback
from pathlib import Path
from typing import Any

import jinja2

from kldigital_site.config import SiteConfig
from kldigital_site.errors import SiteError, Staged
from kldigital_site.model import RouteKind, Site
from kldigital_site.output import Output
from kldigital_site.render import dates
from kldigital_site.theme import THEME_CSS, theme_css

ASSETS_DIR = "assets"

# The template of every route kind that is not a generated file (docs/templates.md).
TEMPLATES = {
    RouteKind.HOME: "home.html",
    RouteKind.PROJECT_LIST: "project_list.html",
    RouteKind.SMART_CITY: "project_list.html",
    RouteKind.PROJECT: "project.html",
    RouteKind.PRESS_LIST: "press_list.html",
    RouteKind.PRESS_YEAR: "press_year.html",
    RouteKind.PRESS_RELEASE: "press_release.html",
    RouteKind.TOPICS: "topics.html",
    RouteKind.TOPIC: "topic.html",
    RouteKind.PAGE: "page.html",
    RouteKind.NOT_FOUND: "404.html",
    RouteKind.SEARCH: "search.html",
}


class RecordingEnvironment(jinja2.Environment):
    """Records the name of every template loaded while ``recorded`` is a set.

    Jinja loads extended, included and imported templates through
    ``_load_template`` (cache hits included), so this sees exactly what one
    render used (Lektor ``_load_template``). Jinja offers no way to pass the set
    explicitly, hence the field; ``render/pages.py`` sets and clears it around a render.
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


def copied_files(site: Site) -> list[Output]:
    """Theme files from templates/assets/, copied verbatim (content/medien/ is published
    by the image stage, media/pipeline.py)."""
    assets = site.config.templates_dir / ASSETS_DIR
    outputs = [
        Output(f"{ASSETS_DIR}/{name}", source=assets / name) for name in asset_files(site.config)
    ]
    if site.config.theme is not None:
        outputs.append(Output(THEME_CSS, data=theme_css(site.config.theme)))
    return outputs


def render_template(
    env: jinja2.Environment, name: str, context: dict[str, Any]
) -> Staged[str | None]:
    """The rendered text, or none and the error at its template line."""
    templates_dir = (
        Path(env.loader.searchpath[0])
        if isinstance(env.loader, jinja2.FileSystemLoader)
        else Path()
    )
    try:
        return Staged(env.get_template(name).render(context))
    except jinja2.TemplateSyntaxError as exc:
        error = SiteError(
            _template_path(templates_dir, exc.filename or name),
            exc.lineno or 0,
            f"Template-Syntaxfehler: {exc.message}",
        )
    except jinja2.TemplateNotFound as exc:
        error = SiteError(
            _template_path(templates_dir, name), 0, f"Template „{exc.name}“ nicht gefunden."
        )
    except Exception as exc:
        # Whatever a template raises is the template's error: a filter given the wrong
        # type, a division by zero. Its line is the innermost frame in templates/.
        path, line = _template_frame(exc, templates_dir, name)
        error = SiteError(path, line, f"Template-Fehler: {_explain(exc)}")
    return Staged(None, (error,))


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
