"""Site settings: ``content/site.yaml`` → ``SiteConfig``.

Input: the settings file and the command-line overrides. Output: a frozen
``SiteConfig`` or ``BuildFailed`` with every problem and its line. Validated by
the same field machinery as front matter, so unknown keys, wrong types and
missing required keys are positioned errors; nothing falls back silently to a
default on a type error (the Pelican ``configure_settings`` anti-pattern).

Order of dependent keys: ``base_url`` (``--base-url`` wins) fixes ``base_path``;
``defaults`` refers to ids of ``daten/`` files, which ``model.py`` resolves.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from kldigital_site.accessibility.fields import ENFORCEMENT_FIELDS, IMPRESSUM_FIELDS
from kldigital_site.content.frontmatter import normalise_text
from kldigital_site.content.schema import (
    Field,
    Invalid,
    absolute_url,
    boilerplate_ref,
    choice,
    identifier_list,
    integer,
    media_path,
    slug,
    text,
    text_list,
    validate_mapping,
)
from kldigital_site.content.yamlpos import Located, YamlProblem, load_located
from kldigital_site.errors import BuildFailed, SiteError
from kldigital_site.theme import NotAColour, Theme, contrast_problems, parse_colour

SETTINGS_FILE = "site.yaml"


def _timezone(node: Located) -> str:
    name = text(node)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid(f"„{name}“ ist keine bekannte Zeitzone (z. B. Europe/Berlin)") from exc
    return name


_HOST_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+")


def _host_names(node: Located) -> tuple[str, ...]:
    # The hosts go verbatim into the pages' Content-Security-Policy (frame-src), so
    # anything but a plain host name could widen it ("*", "https:", "x; script-src *").
    hosts = tuple(host.lower() for host in text_list(node))
    for host in hosts:
        if not _HOST_NAME.fullmatch(host):
            raise Invalid(f"„{host}“ ist kein Hostname (z. B. www.youtube-nocookie.com)")
    return hosts


def _language(node: Located) -> str:
    value = text(node)
    if value != "de":
        raise Invalid("wird derzeit nur als „de“ unterstützt")
    return value


_DEFAULTS_FIELDS = (
    Field("location", text, default=None, doc="Ort der Datumszeile von Pressemitteilungen"),
    Field("contacts", identifier_list, default=(), doc="Standard-Pressekontakte"),
    Field("boilerplate", boilerplate_ref, default=False, doc="Standard-Presseabbinder"),
)
_ORGANISATION_FIELDS = (
    Field("name", text, required=True),
    Field("url", absolute_url),
)
_URL_FIELDS = (
    Field("projects", slug, default="projekte", doc="Abschnitt der Projektsteckbriefe"),
    Field("press", slug, default="presse", doc="Abschnitt der Pressemitteilungen"),
    Field("topics", slug, default="themen", doc="Abschnitt der Themen"),
    Field("smart_city", slug, default="smart-city", doc="Liste der Smart-City-Projekte"),
)


def _colour(node: Located) -> str:
    try:
        return parse_colour(text(node))
    except NotAColour as exc:
        raise Invalid(str(exc)) from None


# The default theme's colours (templates/assets/css/site.css).
_THEME_FIELDS = (
    Field("brand", _colour, default="#a3092b", doc="Markenfarbe: Links, Schaltflächen, Linien"),
    Field("accent", _colour, default="#0b6b50", doc="Akzentfarbe: Smart-City-Kennzeichen"),
    Field("logo", media_path, default=None, doc="Logo, Pfad in medien/ (z. B. medien/logo.svg)"),
)
_CMS_FIELDS = (
    Field(
        "backend",
        choice("gitlab", "github", "gitea"),
        required=True,
        doc="Git-Dienst der Redaktionsoberfläche /admin/: gitlab, github oder gitea",
    ),
    Field("repo", text, required=True, doc="Repository der Website, z. B. stadt-kl/website"),
    Field("branch", text, default="main", doc="Zweig, in den die Oberfläche speichert"),
    Field("base_url", absolute_url, doc="Adresse des Git-Dienstes (eigene Instanz)"),
    Field("api_root", absolute_url, doc="API-Adresse des Git-Dienstes (eigene Instanz)"),
    Field("app_id", text, doc="Kennung der OAuth-Anwendung (Anmeldung mit PKCE)"),
)
_NESTED = {
    "defaults": _DEFAULTS_FIELDS,
    "organisation": _ORGANISATION_FIELDS,
    "urls": _URL_FIELDS,
    "theme": _THEME_FIELDS,
    "enforcement": ENFORCEMENT_FIELDS,
    "impressum": IMPRESSUM_FIELDS,
}

_SITE_FIELDS = (
    Field("title", text, required=True, doc="Name der Website"),
    Field("description", text, default="", doc="Ein Satz über die Website"),
    Field("base_url", absolute_url, required=True, doc="Adresse, unter der die Website liegt"),
    Field("language", _language, default="de"),
    Field("timezone", _timezone, default="Europe/Berlin"),
    Field("organisation", lambda node: node.value, doc="Herausgeber: name, url"),
    Field("defaults", lambda node: node.value, doc="Standardwerte für Pressemitteilungen"),
    Field("urls", lambda node: node.value, doc="Abschnittsnamen in Adressen"),
    Field("theme", lambda node: node.value, doc="Marke: brand, accent, logo"),
    Field("press_per_page", integer(1, 100), default=10, doc="Pressemitteilungen je Listenseite"),
    Field("topic_per_page", integer(1, 500), default=24, doc="Einträge je Themenseite"),
    Field("home_releases", integer(0, 50), default=5, doc="Pressemitteilungen auf der Startseite"),
    Field("feed_entries", integer(1, 500), default=20, doc="Einträge im Atom-Feed"),
    Field("iframe_hosts", _host_names, default=(), doc="Erlaubte Hosts für eingebettete iframes"),
    Field("cms", lambda node: node.value, doc="Redaktionsoberfläche /admin/ mit Git-Dienst"),
    Field("image", media_path, doc="Vorschaubild für soziale Netzwerke (Seiten ohne eigenes Bild)"),
    Field("image_alt", text, doc="Alternativtext des Vorschaubilds"),
    Field("image_credit", text, doc="Bildnachweis des Vorschaubilds"),
    Field("enforcement", lambda node: node.value, doc="Schlichtungs-/Durchsetzungsstelle"),
    Field("impressum", lambda node: node.value, doc="Angaben nach § 5 DDG und § 18 MStV"),
)


@dataclass(frozen=True, slots=True)
class SectionNames:
    projects: str = "projekte"
    press: str = "presse"
    topics: str = "themen"
    smart_city: str = "smart-city"


@dataclass(frozen=True, slots=True)
class CmsSettings:
    """``cms:`` in site.yaml: the built site gets /admin/ with this Git backend."""

    backend: str
    repo: str
    branch: str = "main"
    base_url: str | None = None
    api_root: str | None = None
    app_id: str | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class SiteConfig:
    root: Path
    content_dir: Path
    templates_dir: Path
    output_dir: Path
    title: str
    base_url: str
    description: str = ""
    language: str = "de"
    timezone: str = "Europe/Berlin"
    organisation_name: str = ""
    organisation_url: str | None = None
    default_location: str | None = None
    default_contacts: tuple[str, ...] = ()
    default_boilerplate: str | bool = False
    default_lines: Mapping[str, int] = field(default_factory=dict)
    sections: SectionNames = field(default_factory=SectionNames)
    press_per_page: int = 10
    topic_per_page: int = 24
    home_releases: int = 5
    feed_entries: int = 20
    iframe_hosts: tuple[str, ...] = ()
    theme: Theme | None = None  # theme: in site.yaml; None: the stylesheet's own colours
    cms: CmsSettings | None = None
    default_image: str | None = None  # site.yaml image: og:image of pages without their own
    default_image_alt: str | None = None
    default_image_credit: str | None = None
    default_image_line: int = 0
    # None: the block is missing from site.yaml (accessibility/requirements.py warns).
    enforcement: Mapping[str, Any] | None = None
    impressum: Mapping[str, Any] | None = None
    impressum_lines: Mapping[str, int] = field(default_factory=dict)
    settings_lines: Mapping[str, int] = field(default_factory=dict)
    include_drafts: bool = False
    include_future: bool = False
    # A site for approval, not for the public (serve, build --preview): drafts and
    # embargoed items included, found by its search and labelled everywhere,
    # noindex on every page, a robots.txt that forbids everything.
    preview: bool = False
    # build --preview only (a staging server): "Vorschau – nicht veröffentlicht" on
    # every page. The local preview (serve) shows the pages as they will look.
    preview_banner: bool = False
    # Minified pages, stylesheets and scripts (render/minify.py); build --no-minify
    # leaves them as the templates write them, e.g. to read or compare them.
    minify: bool = True

    @property
    def base_path(self) -> str:
        """The path of the site root on its server, e.g. "/" or "/sub/"."""
        return urlsplit(self.base_url).path or "/"

    @property
    def settings_path(self) -> str:
        return self.rel(self.content_dir / SETTINGS_FILE)

    def rel(self, path: Path) -> str:
        """A path as editors see it in messages: relative to the site root."""
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def fingerprint(self) -> str:
        """Hash of every setting that can change output (cache key)."""
        data = asdict(self)
        for key in ("root", "content_dir", "templates_dir", "output_dir"):
            data.pop(key)
        encoded = json.dumps(data, sort_keys=True, default=str).encode()
        return hashlib.sha256(encoded).hexdigest()


def load_config(
    content_dir: Path,
    templates_dir: Path,
    output_dir: Path,
    *,
    base_url: str | None = None,
    drafts: bool = False,
    future: bool = False,
    preview: bool = False,
    preview_banner: bool = False,
    minify: bool = True,
) -> SiteConfig:
    preview = preview or preview_banner
    content_dir = content_dir.resolve()
    root = content_dir.parent
    settings_file = content_dir / SETTINGS_FILE
    rel = _relative(settings_file, root)
    if not content_dir.is_dir():
        raise BuildFailed([SiteError(rel, 0, f"Der Inhaltsordner {content_dir} existiert nicht.")])
    if not settings_file.is_file():
        raise BuildFailed([SiteError(rel, 0, "Die Datei mit den Website-Einstellungen fehlt.")])
    try:
        located = load_located(normalise_text(settings_file.read_bytes()), 1)
    except UnicodeDecodeError:
        raise BuildFailed([SiteError(rel, 0, "Die Datei ist nicht UTF-8-kodiert.")]) from None
    except YamlProblem as problem:
        raise BuildFailed([SiteError(rel, problem.line, str(problem))]) from problem

    result = validate_mapping(located, _SITE_FIELDS, path=rel)
    errors = list(result.errors)
    values = result.validated.values
    nested: dict[str, dict[str, Any]] = {}
    for name, fields in _NESTED.items():
        node = located.entries.get(name) if located.is_mapping else None
        if node is None or node.value is None:
            nested[name] = validate_mapping(Located({}, 1, 1), fields, path=rel).validated.values
            continue
        sub = validate_mapping(node, fields, path=rel)
        errors.extend(sub.errors)
        nested[name] = {**sub.validated.values, "_lines": sub.validated.lines}
    cms: CmsSettings | None = None
    cms_node = located.entries.get("cms") if located.is_mapping else None
    if cms_node is not None and cms_node.value is not None:
        sub = validate_mapping(cms_node, _CMS_FIELDS, path=rel)
        errors.extend(sub.errors)
        if not sub.errors:
            cms = CmsSettings(**sub.validated.values, line=cms_node.key_line)
    if base_url is not None:
        try:
            values["base_url"] = absolute_url(Located(base_url, 0, 0))
        except Invalid as exc:
            errors.append(SiteError("--base-url", 0, str(exc)))
    theme = None
    theme_node = located.entries.get("theme") if located.is_mapping else None
    if theme_node is not None and theme_node.is_mapping:
        theme = _theme(theme_node, nested["theme"], content_dir, rel, errors)
    if values.get("image") and not values.get("image_alt"):
        line = result.validated.lines["image"]
        errors.append(SiteError(rel, line, "Zum Bild fehlt der Alternativtext „image_alt“."))
    if errors:
        raise BuildFailed(errors)

    defaults = nested["defaults"]
    organisation = nested["organisation"]
    urls = nested["urls"]
    sections = SectionNames(**{k: v for k, v in urls.items() if not k.startswith("_")})
    if len({sections.projects, sections.press, sections.topics, sections.smart_city}) < 4:
        raise BuildFailed(
            [SiteError(rel, 0, "Die Abschnittsnamen unter urls: müssen verschieden sein.")]
        )
    return SiteConfig(
        root=root,
        content_dir=content_dir,
        templates_dir=templates_dir.resolve(),
        output_dir=output_dir.resolve(),
        title=values["title"],
        base_url=values["base_url"].rstrip("/") + "/",
        description=values["description"],
        language=values["language"],
        timezone=values["timezone"],
        organisation_name=organisation.get("name") or values["title"],
        organisation_url=organisation.get("url"),
        default_location=defaults.get("location"),
        default_contacts=tuple(defaults.get("contacts") or ()),
        default_boilerplate=defaults.get("boilerplate", False),
        default_lines=dict(defaults.get("_lines", {})),
        sections=sections,
        press_per_page=values["press_per_page"],
        topic_per_page=values["topic_per_page"],
        home_releases=values["home_releases"],
        feed_entries=values["feed_entries"],
        iframe_hosts=tuple(values["iframe_hosts"]),
        theme=theme,
        cms=cms,
        default_image=values.get("image"),
        default_image_alt=values.get("image_alt"),
        default_image_credit=values.get("image_credit"),
        default_image_line=result.validated.lines.get("image", 0),
        include_drafts=drafts or preview,
        include_future=future or preview,
        preview=preview,
        preview_banner=preview_banner,
        minify=minify,
        enforcement=_block(nested, "enforcement"),
        impressum=_block(nested, "impressum"),
        impressum_lines=dict(nested["impressum"].get("_lines", {})),
        settings_lines=dict(result.validated.lines),
    )


def _theme(
    node: Located, values: dict[str, Any], content_dir: Path, rel: str, errors: list[SiteError]
) -> Theme | None:
    """The theme, if its colours give every text enough contrast and its logo exists."""
    for key in ("brand", "accent"):
        entry = node.entries.get(key)
        if entry is not None and entry.value is None:
            # `brand: #a3092b` unquoted: YAML reads "#…" as a comment, leaving no value.
            message = (
                f'„{key}“ ist leer: Farben in Anführungszeichen schreiben, z. B. {key}: "#a3092b"'
            )
            errors.append(SiteError(rel, entry.key_line, message))
            return None
    if "brand" not in values or "accent" not in values:
        return None  # an invalid colour, reported by validate_mapping
    lines: dict[str, int] = values.get("_lines", {})
    theme = Theme(values["brand"], values["accent"], values.get("logo"))
    for problem in contrast_problems(theme):
        errors.append(SiteError(rel, lines.get(problem.setting, 0), problem.message))
    if theme.logo is not None and not (content_dir / theme.logo).is_file():
        errors.append(
            SiteError(
                rel, lines.get("logo", 0), f"Die Logo-Datei content/{theme.logo} gibt es nicht."
            )
        )
    return theme


def _block(nested: Mapping[str, Mapping[str, Any]], name: str) -> dict[str, Any] | None:
    """A nested block as given, or None when site.yaml does not have it."""
    values = nested[name]
    if "_lines" not in values:
        return None
    return {key: value for key, value in values.items() if key != "_lines"}


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()
