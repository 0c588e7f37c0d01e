"""`check` checks drafts and embargoed releases as fully as published ones (issue 14).

`build` leaves them out, so a broken link in a draft cannot break the published
site; but an editor runs `check` to learn what is wrong before publishing, and
a draft is exactly what is about to be published. It is checked in the site the
preview shows, where drafts and embargoed releases are published.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path

from click.testing import Result

from tests.conftest import TEMPLATES, build_cli, run_cli

MakeSite = Callable[[Mapping[str, str | bytes]], Path]
NOW = "2026-11-26T12:00"

DRAFT_WITH_BROKEN_LINK = """
    ---
    title: Neues Projekt
    summary: Ein Projekt in Vorbereitung.
    draft: true
    ---
    Noch nicht fertig. Mehr auf der [Kontaktseite](/kontakt/).
"""


def check(root: Path) -> Result:
    return run_cli(
        "--now",
        NOW,
        "check",
        "--content",
        root / "content",
        "--templates",
        TEMPLATES,
        "--output",
        root / "output",
    )


def errors(result: Result) -> list[str]:
    return result.stderr.splitlines()[:-1]


def test_a_broken_link_in_a_draft_fails_check_but_not_build(
    make_site: MakeSite, tmp_path: Path
) -> None:
    root = make_site({"content/projekte/neu.md": DRAFT_WITH_BROKEN_LINK})

    result = check(root)

    assert result.exit_code == 1
    assert errors(result) == [
        "content/projekte/neu.md:6: Link „/kontakt/“ zeigt auf nichts "
        "(keine Datei, keine Seite mit dieser Adresse)"
    ]
    built = build_cli(root, tmp_path / "out", "--now", NOW)
    assert built.exit_code == 0, built.output
    assert not (tmp_path / "out" / "projekte" / "neu").exists()


def test_a_broken_link_in_an_embargoed_release_fails_check(make_site: MakeSite) -> None:
    root = make_site(
        {
            "content/presse/2027-01-15-ankuendigung.md": """
                ---
                title: Ankündigung
                date: 2027-01-15T10:00
                ---
                Siehe [Archiv](/presse/2019/).
            """
        }
    )

    result = check(root)

    assert result.exit_code == 1
    assert errors(result) == [
        "content/presse/2027-01-15-ankuendigung.md:5: Link „/presse/2019/“ zeigt auf nichts "
        "(keine Datei, keine Seite mit dieser Adresse)"
    ]


def test_a_template_error_on_a_draft_page_fails_check(make_site: MakeSite, tmp_path: Path) -> None:
    # The notice "Entwurf – …" is shown on unpublished pages only: a typo there shows
    # on a draft's page alone, never in the published site.
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    base = templates / "base.html"
    text = base.read_text(encoding="utf-8")
    notice = "{{ page.banner }}</p>"
    assert text.count(notice) == 1
    base.write_text(text.replace(notice, "{{ page.baner }}</p>"), encoding="utf-8")
    line = text[: text.index(notice)].count("\n") + 1
    root = make_site({"content/projekte/neu.md": DRAFT_WITH_BROKEN_LINK.replace("/kontakt/", "/")})
    args = ("--content", root / "content", "--templates", templates)

    built = run_cli("--now", NOW, "build", *args, "--output", tmp_path / "out")
    checked = run_cli("--now", NOW, "check", *args, "--output", tmp_path / "out")

    assert built.exit_code == 0, built.output
    assert checked.exit_code == 1
    assert errors(checked) == [
        f"templates/base.html:{line}: Template-Fehler: „baner“ gibt es hier nicht (Tippfehler?)."
    ]


def test_drafts_may_link_to_each_other_but_published_pages_may_not_link_to_drafts(
    make_site: MakeSite,
) -> None:
    root = make_site(
        {
            "content/projekte/neu.md": """
                ---
                title: Neues Projekt
                summary: Ein Projekt in Vorbereitung.
                draft: true
                ---
                Gehört zum [zweiten Entwurf](zweiter-entwurf.md).
            """,
            "content/projekte/zweiter-entwurf.md": """
                ---
                title: Zweiter Entwurf
                summary: Noch ein Projekt in Vorbereitung.
                draft: true
                ---
                Gehört zum [ersten Entwurf](/projekte/neu/).
            """,
        }
    )
    assert check(root).exit_code == 0

    (root / "content/seiten/impressum.md").write_text(
        "---\ntitle: Impressum\n---\nSiehe [Neues Projekt](/projekte/neu/).\n", encoding="utf-8"
    )
    result = check(root)
    assert result.exit_code == 1
    assert errors(result) == [
        "content/seiten/impressum.md:4: Link „/projekte/neu/“ zeigt auf nichts "
        "(keine Datei, keine Seite mit dieser Adresse)"
    ]
