"""The Jinja2 environment and one template render with positioned errors.

Input: the site settings (template folder, base path), a template name and its
context. Output: ``Staged`` with the rendered text, or with none and a
``SiteError`` at the template's path and line. Jinja2 runs with autoescaping and
``StrictUndefined``, so a misspelt variable is an error rather than blank output
(the Lektor ``BadValue`` anti-pattern). What each template receives is made in
``render/contexts.py``; the page loop is ``render/pages.py``; the theme's files
and their hashed names are ``render/assets.py``.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from typing import Any

import jinja2
import jinja2.meta
from jinja2 import nodes

from kldigital_site.config import SiteConfig
from kldigital_site.errors import SiteError, Staged
from kldigital_site.model import RouteKind
from kldigital_site.render import dates
from kldigital_site.render.compiled import CompiledTemplates
from kldigital_site.render.views import SharedView

# What a render records of each theme file it names through ``asset()``, beside the
# templates it loads: its page is made again when that file's hashed name changes.
ASSET_RECORD = "asset:"

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


# The mappings pages are made of, with every name an attribute lookup can find on them.
# Neither has instance attributes beyond these (no ``__dict__``, no ``__getattr__``).
_ITEM_FIRST: dict[type, frozenset[str]] = {
    cls: frozenset(dir(cls)) for cls in (dict, SharedView) if "__dict__" not in dir(cls)
}


class RecordingEnvironment(jinja2.Environment):
    """Records the name of every template loaded while ``recorded`` is a set.

    Jinja loads extended, included and imported templates through
    ``_load_template`` (cache hits included), so this sees exactly what one
    render used (Lektor ``_load_template``). Jinja offers no way to pass the set
    explicitly, hence the field; ``render/pages.py`` sets and clears it around a render.
    """

    recorded: set[str] | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # By template name: the templates it names (``_parse``), and those it names
        # directly or not (``_referenced``).
        self._names: dict[str, frozenset[str]] = {}
        self._references: dict[str, frozenset[str]] = {}

    def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
        """A template's globals as one dict, not Jinja's ChainMap over the environment's.

        Jinja copies them into the context of every render and compares their names on
        every ``{% from … import %}`` (``Template._get_default_module``), both through
        ChainMap's methods in Python: 20 µs of a render with three imports, half of it.
        The environment's globals are complete before any template loads
        (``make_environment``) and never change after, so the copy holds what the
        ChainMap would show."""
        return {**self.globals, **(d or {})}

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``page.title`` as Jinja looks it up, faster for the dicts and views of pages.

        Jinja tries the attribute first, which on a dict or view fails with an
        AttributeError every time: about 200 times a page, a sixth of its render. Where
        the class has no such attribute (``_ITEM_FIRST``) that failure is certain, so the
        item is looked up at once: the same value, or the same Undefined."""
        names = _ITEM_FIRST.get(type(obj))
        if names is not None and attribute not in names:
            try:
                return obj[attribute]
            except (TypeError, LookupError, AttributeError):  # as Jinja's own fallback
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def _load_template(self, name: Any, globals: Any) -> jinja2.Template:
        if self.recorded is None or not isinstance(name, str):
            return super()._load_template(name, globals)
        name = _file_name(name)
        self.recorded.add(name)  # before loading: a name tried and not found counts too
        template = super()._load_template(name, globals)
        self.recorded.update(self._referenced(name))
        return template

    def _referenced(self, name: str) -> frozenset[str]:
        """Every template that ``name`` names (extends, includes, imports), and those they
        name, and so on.

        Jinja runs an imported template's own code once per process and keeps the module
        (``Template._get_default_module``): the templates that one imports in turn are
        loaded by the first page only. Without them in the other pages' records a change
        to partials/picture.html, imported by partials/cards.html, left every list but
        the first stale. Names made at render time (``{% include page.kind %}``) are
        loaded, and so recorded, by the render that makes them."""
        known = self._references.get(name)
        if known is not None:
            return known
        found: set[str] = set()
        waiting = [name]
        while waiting:
            current = waiting.pop()
            if current not in self._names:
                try:  # compiled here, once, as its first render would (``_parse``)
                    jinja2.Environment._load_template(self, current, None)
                except (jinja2.TemplateError, OSError, UnicodeDecodeError):
                    continue  # recorded as it is; a render that loads it reports the error
            for referenced in self._names.get(current, ()):
                if referenced not in found:
                    found.add(referenced)
                    waiting.append(referenced)
        self._references[name] = frozenset(found)
        return self._references[name]

    def named_by(self, name: str) -> frozenset[str] | None:
        """The templates ``name`` names, if it was compiled or loaded (render/compiled.py)."""
        return self._names.get(_file_name(name))

    def note_named(self, name: str, named: frozenset[str]) -> None:
        """What a template loaded as compiled code names: it is not parsed."""
        self._names[_file_name(name)] = named

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Jinja's parse of a template it compiles, noting the templates it names."""
        tree = super()._parse(source, name, filename)
        if name is not None:
            named = jinja2.meta.find_referenced_templates(tree)
            self._names[_file_name(name)] = frozenset(map(_file_name, filter(None, named)))
        return tree


def _file_name(name: str) -> str:
    """A template name as the loader finds its file ("./partials/x.html" is
    partials/x.html): the name of its digest (render/assets.py ``template_digests``)."""
    return "/".join(part for part in name.split("/") if part not in ("", "."))


class UnknownAsset(LookupError):
    """``asset()`` named a file that is not in templates/assets/ (German message)."""


def make_environment(
    config: SiteConfig, assets: Mapping[str, str], compiled: CompiledTemplates | None = None
) -> RecordingEnvironment:
    """The environment of one build; ``assets`` is ``Site.assets`` (render/assets.py);
    ``compiled``: the templates compiled by earlier builds (render/compiled.py)."""
    env = RecordingEnvironment(
        loader=jinja2.FileSystemLoader(str(config.templates_dir)),
        autoescape=jinja2.select_autoescape(("html", "xml"), default_for_string=True),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        # One environment serves one set of template files: build.py makes a new one when
        # any of them changes (``_environment``), so checking each file's time on every
        # load (Jinja's default) would only cost a stat per template and page.
        auto_reload=False,
        bytecode_cache=compiled,
    )
    env.filters.update(
        date_long=dates.date_long,
        date_short=dates.date_short,
        month_year=dates.month_year,
        date_time_long=dates.date_time_long,
        iso=dates.iso,
    )
    base = config.base_path

    def asset(name: str) -> str:
        path = assets.get(name)
        if path is None:
            raise UnknownAsset(f"Die Theme-Datei „{name}“ gibt es nicht in templates/assets/.")
        if env.recorded is not None:
            env.recorded.add(ASSET_RECORD + name)
        return base + path

    env.globals["asset"] = asset
    return env


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
