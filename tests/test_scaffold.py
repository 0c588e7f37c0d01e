"""commands/scaffold.py and ``kldigital-site new``: names, fields, no overwriting, and the
scaffolded file builds as it is."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from kldigital_site.cli import cli
from kldigital_site.commands.scaffold import (
    MAX_SLUG_LENGTH,
    ScaffoldError,
    ScaffoldKind,
    create,
    make_slug,
    target_path,
    yaml_text,
)
from kldigital_site.content import placeholders
from kldigital_site.content.schema import PAGE_FIELDS, PRESS_FIELDS, PROJECT_FIELDS
from kldigital_site.errors import BuildFailed
from kldigital_site.slugs import slugify
from tests.conftest import build_cli, build_site_at, copy_fixture_site

MakeSite = Callable[[Mapping[str, str | bytes]], Path]
# 23:30 UTC on 25 November is already 26 November in Kaiserslautern.
NOW = dt.datetime(2026, 11, 25, 23, 30, tzinfo=dt.UTC)
FIELDS = {
    ScaffoldKind.PRESS: PRESS_FIELDS,
    ScaffoldKind.PROJECT: PROJECT_FIELDS,
    ScaffoldKind.PAGE: PAGE_FIELDS,
}


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Neue Radwege in der Innenstadt", "neue-radwege-in-der-innenstadt"),
        ("Öffentliches WLAN für Straßen & Plätze", "oeffentliches-wlan-fuer-strassen-plaetze"),
        ("Café „Digital“ öffnet – 2027!", "cafe-digital-oeffnet-2027"),
        ("GROSSE ÜBERSCHRIFT", "grosse-ueberschrift"),
    ],
)
def test_slug_is_transliterated(title: str, slug: str) -> None:
    assert make_slug(title) == slug


def test_long_titles_are_cut_at_a_word_boundary() -> None:
    title = "Kaiserslautern feiert den Digitaltag mit vielen Veranstaltungen in allen Stadtteilen"
    slug = make_slug(title)
    assert len(slug) <= MAX_SLUG_LENGTH
    assert slugify(title).startswith(slug + "-")


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (ScaffoldKind.PRESS, "presse/2026-11-26-titel.md"),
        (ScaffoldKind.PROJECT, "projekte/titel.md"),
        (ScaffoldKind.PAGE, "seiten/titel.md"),
    ],
)
def test_target_path(kind: ScaffoldKind, expected: str) -> None:
    assert target_path(Path("content"), kind, "Titel", dt.date(2026, 11, 26)) == Path(
        "content", expected
    )


@pytest.mark.parametrize("kind", list(ScaffoldKind))
def test_file_has_every_field_optional_ones_commented_with_a_note(
    make_site: MakeSite, kind: ScaffoldKind
) -> None:
    root = make_site({})
    path = create(root / "content", kind, "Ein neuer Titel", NOW)
    text = path.read_text(encoding="utf-8")
    front = text.split("---\n")[1]
    for spec in FIELDS[kind]:
        # The note stands on its own line above the field: never " # …" after a value,
        # which YAML would drop and the build refuses.
        active = re.search(rf"^# \S.*\n{spec.name}: [^#\n]+$", front, re.MULTILINE)
        commented = re.search(rf"^# \S.*\n# {spec.name}: [^#\n]+$", front, re.MULTILINE)
        if spec.required:
            assert active, f"required field {spec.name} is missing or has no note"
        elif spec.name == "draft":
            assert active, "new files start as drafts"
        else:
            assert commented and not active, f"optional field {spec.name} not commented out"
    meta = yaml.safe_load(front)
    assert meta["title"] == "Ein neuer Titel"
    assert meta["draft"] is True


@pytest.mark.parametrize("kind", list(ScaffoldKind))
def test_scaffolded_file_builds_as_it_is(make_site: MakeSite, kind: ScaffoldKind) -> None:
    root = make_site({})
    path = create(root / "content", kind, "Straße frei: Neue Radwege", NOW)
    url = {
        ScaffoldKind.PRESS: "presse/strasse-frei-neue-radwege/index.html",
        ScaffoldKind.PROJECT: "projekte/strasse-frei-neue-radwege/index.html",
        ScaffoldKind.PAGE: "strasse-frei-neue-radwege/index.html",
    }[kind]
    # As a draft it stays out of the public build ...
    build_site_at(root, output=root / "public", now=NOW)
    assert not (root / "public" / url).exists()
    # ... and renders, with its banner, where drafts are shown (serve, --drafts).
    build_site_at(root, output=root / "preview", drafts=True, now=NOW)
    html = (root / "preview" / url).read_text(encoding="utf-8")
    assert "Straße frei: Neue Radwege" in html and "Entwurf" in html
    assert path.parent.name in ("presse", "projekte", "seiten")


@pytest.mark.parametrize("kind", list(ScaffoldKind))
def test_commented_examples_are_valid_when_uncommented(
    make_site: MakeSite, kind: ScaffoldKind
) -> None:
    # Only the image lines need a file that a new site does not have, and the
    # second date line is an alternative to the first.
    root = make_site({})
    path = create(root / "content", kind, "Alles ausgefüllt", NOW)
    lines = []
    image_fields = {"image", "image_alt", "image_caption", "image_credit", "images"}
    fields = {spec.name for spec in FIELDS[kind]} - image_fields - {"date"}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# ") and line[2:].split(":")[0] in fields:
            line = line[2:]
        lines.append(line.replace("draft: true", "draft: false"))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # Valid, but not publishable as it is: every placeholder is named, with its line.
    with pytest.raises(BuildFailed) as failed:
        build_site_at(root, output=root / "public", now=NOW)
    assert failed.value.problems
    assert all("Platzhalter" in p.message for p in failed.value.problems), failed.value.problems
    text = path.read_text(encoding="utf-8")
    for placeholder in (
        placeholders.PROJECT_SUMMARY,
        placeholders.SUMMARY_EXAMPLE,
        placeholders.SUBTITLE_EXAMPLE,
        *placeholders.PRESS_BODY.splitlines(),
        *placeholders.PROJECT_BODY.splitlines(),
        *placeholders.PAGE_BODY.splitlines(),
    ):
        if placeholder:
            text = text.replace(placeholder, "Eigener Text.")
    path.write_text(text, encoding="utf-8")
    build_site_at(root, output=root / "public", now=NOW)


def test_existing_file_is_never_overwritten(make_site: MakeSite) -> None:
    root = make_site({})
    path = create(root / "content", ScaffoldKind.PROJECT, "Titel", NOW)
    path.write_text("bearbeitet", encoding="utf-8")
    with pytest.raises(ScaffoldError, match="gibt es schon"):
        create(root / "content", ScaffoldKind.PROJECT, "Titel", NOW)
    assert path.read_text(encoding="utf-8") == "bearbeitet"


def test_press_release_with_the_same_address_on_another_day_is_refused(
    make_site: MakeSite,
) -> None:
    root = make_site({})
    with pytest.raises(ScaffoldError, match=re.escape("2024-05-02-erste-mitteilung.md")):
        create(root / "content", ScaffoldKind.PRESS, "Erste Mitteilung", NOW)


@pytest.mark.parametrize(
    ("kind", "title", "message"),
    [
        (ScaffoldKind.PAGE, "Suche", "reserviert"),
        (ScaffoldKind.PROJECT, "!!!", "kein Dateiname"),
        (ScaffoldKind.PRESS, "   ", "Titel angeben"),
    ],
)
def test_unusable_titles_are_refused(
    make_site: MakeSite, kind: ScaffoldKind, title: str, message: str
) -> None:
    root = make_site({})
    with pytest.raises(ScaffoldError, match=message):
        create(root / "content", kind, title, NOW)


@pytest.mark.parametrize(
    "value", ["Titel", "Titel: mit Doppelpunkt", '"Zitat"', "yes", "2026-11-26", "a #b", "[x]"]
)
def test_yaml_text_reads_back_as_the_same_string(value: str) -> None:
    assert yaml.safe_load(f"key: {yaml_text(value)}") == {"key": value}


def test_new_command_prints_the_path_and_refuses_a_second_time(make_site: MakeSite) -> None:
    root = make_site({})
    runner = CliRunner()
    args = ["--now", "2026-11-26T10:00", "new", "press", "Neue Radwege in der Innenstadt"]
    args += ["--content", str(root / "content")]
    first = runner.invoke(cli, args)
    assert first.exit_code == 0, first.output
    expected = root / "content/presse/2026-11-26-neue-radwege-in-der-innenstadt.md"
    assert first.output.strip() == expected.as_posix()
    assert expected.is_file()
    second = runner.invoke(cli, args)
    assert second.exit_code == 1
    assert "gibt es schon" in second.output


def test_new_command_rejects_an_unknown_kind() -> None:
    result = CliRunner().invoke(cli, ["new", "blog", "Titel"])
    assert result.exit_code == 2


def test_the_accessibility_pages_are_scaffolded_with_their_own_fields(tmp_path: Path) -> None:
    """`new page "Leichte Sprache"` (and the other two pages BITV 2.0 asks for) writes
    the page's own fields; published as written, only the placeholder text stops it."""
    root = copy_fixture_site("minimal", tmp_path / "site")
    names = ("leichte-sprache", "gebaerdensprache", "barrierefreiheit")
    for name in names:
        (root / f"content/seiten/{name}.md").unlink()
    for title in ("Leichte Sprache", "Gebärdensprache", "Barrierefreiheit"):
        path = create(root / "content", ScaffoldKind.PAGE, title, NOW)
        path.write_text(path.read_text(encoding="utf-8").replace("draft: true\n", ""))
    text = (root / "content/seiten/leichte-sprache.md").read_text(encoding="utf-8")
    assert "explains:\n  inhalt: was-steht-auf-dieser-website\n" in text
    statement = (root / "content/seiten/barrierefreiheit.md").read_text(encoding="utf-8")
    assert "feedback_contact: presse\n" in statement and "reviewed: 2026-11-26\n" in statement
    result = build_cli(root, root / "output")
    assert result.exit_code == 1
    errors = result.stderr.splitlines()[:-1]
    assert errors and all("Platzhaltertext der Vorlage" in e for e in errors), errors
    # The editor writes the text; the headings explains: points at stay.
    for name in names:
        path = root / f"content/seiten/{name}.md"
        head, body = path.read_text(encoding="utf-8").rsplit("---\n", 1)
        kept = [
            line if line.startswith("## ") or not line else "Eigener Text."
            for line in body.splitlines()
        ]
        path.write_text(head + "---\n" + "\n".join(kept) + "\n", encoding="utf-8")
    result = build_cli(root, root / "output")
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        "content/seiten/gebaerdensprache.md:1: Warnung: Die Seite in Gebärdensprache zeigt kein "
        "Video („videos“); BITV 2.0 § 4 verlangt Erläuterungen in Deutscher Gebärdensprache."
    ]
