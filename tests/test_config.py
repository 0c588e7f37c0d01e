"""Site settings (content/site.yaml): validated like front matter, with lines and hints."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

from kldigital_site.config import load_config
from kldigital_site.errors import BuildFailed
from tests.conftest import TEMPLATES, build_site_at

MakeSite = Callable[[Mapping[str, str | bytes]], Path]

MINIMAL_SETTINGS = """\
title: Minimal
base_url: https://example.org/
defaults:
  location: Kaiserslautern
  contacts: [presse]
  boilerplate: standard
"""


def problems(root: Path, base_url: str | None = None) -> list[str]:
    with pytest.raises(BuildFailed) as info:
        load_config(root / "content", TEMPLATES, root / "output", base_url=base_url)
    return [str(p) for p in info.value.problems]


def test_minimal_settings_and_defaults(make_site: MakeSite) -> None:
    config = load_config(make_site({}) / "content", TEMPLATES, Path("out"))
    assert config.title == "Minimal"
    assert config.base_url == "https://example.org/"
    assert config.base_path == "/"
    assert config.language == "de"
    assert config.timezone == "Europe/Berlin"
    assert config.default_location == "Kaiserslautern"
    assert config.default_contacts == ("presse",)
    assert config.default_boilerplate == "standard"
    assert config.press_per_page == 10
    assert config.organisation_name == "Minimal"  # falls back to the title
    assert config.settings_path == "content/site.yaml"


@pytest.mark.parametrize(
    ("base_url", "expected_url", "expected_path"),
    [
        ("https://example.org/sub", "https://example.org/sub/", "/sub/"),
        ("https://example.org/sub/", "https://example.org/sub/", "/sub/"),
        ("https://example.org", "https://example.org/", "/"),
        ("http://localhost:8000/a/b/", "http://localhost:8000/a/b/", "/a/b/"),
    ],
)
def test_base_url_override_and_trailing_slash(
    make_site: MakeSite, base_url: str, expected_url: str, expected_path: str
) -> None:
    config = load_config(make_site({}) / "content", TEMPLATES, Path("out"), base_url=base_url)
    assert config.base_url == expected_url
    assert config.base_path == expected_path


def test_invalid_base_url_override_names_the_option(make_site: MakeSite) -> None:
    root = make_site({})
    assert problems(root, base_url="example.org/sub/") == [
        "--base-url: „example.org/sub/“ ist keine vollständige Webadresse (http:// oder https://)"
    ]


def test_every_settings_problem_at_its_line(make_site: MakeSite) -> None:
    root = make_site(
        {
            "content/site.yaml": """\
            titel: Minimal
            base_url: example.org
            language: en
            timezone: Europe/Kaiserslautern
            press_per_page: 0
            defaults:
              location: Kaiserslautern
              kontakte: [presse]
            """
        }
    )
    assert problems(root) == [
        "content/site.yaml:1: Pflichtfeld „title“ fehlt.",
        "content/site.yaml:1: Unbekannter Schlüssel „titel“. Meinten Sie „title“?",
        "content/site.yaml:2: „base_url“: „example.org“ ist keine vollständige Webadresse "
        "(http:// oder https://)",
        "content/site.yaml:3: „language“ wird derzeit nur als „de“ unterstützt",
        "content/site.yaml:4: „timezone“: „Europe/Kaiserslautern“ ist keine bekannte Zeitzone "
        "(z. B. Europe/Berlin)",
        "content/site.yaml:5: „press_per_page“ muss mindestens 1 sein",
        "content/site.yaml:8: Unbekannter Schlüssel „kontakte“. Meinten Sie „contacts“?",
    ]


def test_settings_with_bom_and_crlf(make_site: MakeSite) -> None:
    raw = ("\ufeff" + MINIMAL_SETTINGS + "smart_city: true\n").replace("\n", "\r\n")
    root = make_site({"content/site.yaml": raw.encode("utf-8")})
    assert problems(root) == [
        "content/site.yaml:7: Unbekannter Schlüssel „smart_city“. Erlaubt sind: base_url, "
        "cms, defaults, description, enforcement, feed_entries, home_releases, iframe_hosts, "
        "image, image_alt, image_credit, impressum, language, organisation, press_per_page, "
        "theme, timezone, title, topic_per_page, urls."
    ]


def test_settings_yaml_syntax_error(make_site: MakeSite) -> None:
    root = make_site({"content/site.yaml": MINIMAL_SETTINGS + 'description: "offen\n'})
    assert problems(root) == [
        "content/site.yaml:7: YAML-Syntaxfehler: ein Anführungszeichen wird nicht geschlossen"
    ]


def test_settings_not_utf8(make_site: MakeSite) -> None:
    root = make_site({"content/site.yaml": "title: Straße\n".encode("latin-1")})
    assert problems(root) == ["content/site.yaml: Die Datei ist nicht UTF-8-kodiert."]


def test_missing_settings_or_content_folder(tmp_path: Path) -> None:
    (tmp_path / "content").mkdir()
    assert problems(tmp_path) == [
        "content/site.yaml: Die Datei mit den Website-Einstellungen fehlt."
    ]
    with pytest.raises(BuildFailed, match="existiert nicht"):
        load_config(tmp_path / "gibt-es-nicht", TEMPLATES, tmp_path / "out")


def test_section_names_must_differ(make_site: MakeSite) -> None:
    root = make_site({"content/site.yaml": MINIMAL_SETTINGS + "urls:\n  topics: projekte\n"})
    assert problems(root) == [
        "content/site.yaml: Die Abschnittsnamen unter urls: müssen verschieden sein."
    ]


def test_section_names_change_the_addresses(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site(
        {
            "content/site.yaml": MINIMAL_SETTINGS
            + "urls:\n  projects: vorhaben\n  press: aktuelles\n",
        }
    )
    out = tmp_path / "out"
    build_site_at(root, output=out)
    assert (out / "vorhaben/beispielprojekt/index.html").is_file()
    assert (out / "aktuelles/erste-mitteilung/index.html").is_file()
    assert (out / "aktuelles/feed.xml").is_file()
    assert not (out / "projekte").exists() and not (out / "presse").exists()
    home = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="/aktuelles/erste-mitteilung/"' in home


def test_unknown_default_contact_and_boilerplate_point_at_site_yaml(
    make_site: MakeSite,
) -> None:
    root = make_site(
        {
            "content/site.yaml": MINIMAL_SETTINGS.replace("[presse]", "[pressestelle]").replace(
                "boilerplate: standard", "boilerplate: lang"
            )
        }
    )
    with pytest.raises(BuildFailed) as info:
        build_site_at(root)
    assert [str(p) for p in info.value.problems] == [
        "content/site.yaml:5: Unbekannter Kontakt „pressestelle“ (nicht in "
        "content/daten/kontakte.yaml; vorhanden: presse).",
        "content/site.yaml:6: Unbekannter Presseabbinder „lang“ (nicht in "
        "content/daten/presseabbinder.yaml; vorhanden: standard).",
    ]


def test_settings_change_the_fingerprint(make_site: MakeSite) -> None:
    root = make_site({})
    first = load_config(root / "content", TEMPLATES, Path("a"))
    same = load_config(root / "content", TEMPLATES, Path("b"))
    other = load_config(root / "content", TEMPLATES, Path("a"), base_url="https://x.org/")
    assert first.fingerprint() == same.fingerprint()  # the output folder is no setting
    assert first.fingerprint() != other.fingerprint()
