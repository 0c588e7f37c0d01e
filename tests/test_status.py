"""commands/status.py, ``kldigital-site status`` and the global ``--now`` clock.

The status listing must agree with what ``build`` publishes at the same time,
so the tests compare the two on the full fixture site.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import click
import pytest
from click.testing import CliRunner

from kldigital_site.cli import cli, parse_now
from kldigital_site.commands.status import Publication, StatusReport, collect_status, format_status
from kldigital_site.config import load_config
from tests.conftest import NOW, TEMPLATES, build_site_at, copy_fixture_site

BERLIN = ZoneInfo("Europe/Berlin")
EMBARGO = dt.datetime(2027, 1, 15, 9, 0, tzinfo=BERLIN)
EMBARGOED = "content/presse/2027-01-15-sperrfrist-januar.md"
FAR_FUTURE = "content/presse/2028-05-02-ferne-zukunft.md"
DRAFTS = {
    "content/presse/2026-09-01-entwurf-haushalt.md",
    "content/projekte/entwurf-projekt.md",
    "content/seiten/entwurf-seite.md",
}


@pytest.fixture(scope="module")
def full_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_fixture_site("full", tmp_path_factory.mktemp("full") / "site")


def _status(root: Path, now: dt.datetime) -> StatusReport:
    return collect_status(load_config(root / "content", TEMPLATES, root / "output"), now)


def _paths(report: StatusReport, state: Publication) -> set[str]:
    return {e.path for e in report.of(state)}


def test_drafts_embargoes_and_published_items(full_site: Path) -> None:
    report = _status(full_site, NOW)
    assert not report.problems
    assert _paths(report, Publication.DRAFT) == DRAFTS
    assert _paths(report, Publication.EMBARGOED) == {EMBARGOED, FAR_FUTURE}
    assert report.next_embargo() == EMBARGO
    # Soonest embargo first.
    assert [e.path for e in report.of(Publication.EMBARGOED)] == [EMBARGOED, FAR_FUTURE]


@pytest.mark.parametrize(
    "now",
    [
        NOW,
        EMBARGO - dt.timedelta(seconds=1),
        EMBARGO,  # the moment it goes live
        dt.datetime(2028, 5, 2, 0, 0, tzinfo=BERLIN),  # a plain date: midnight, German time
    ],
)
def test_status_agrees_with_what_build_publishes(full_site: Path, now: dt.datetime) -> None:
    report = _status(full_site, now)
    published = _paths(report, Publication.PUBLISHED)
    result = build_site_at(full_site, write=False, now=now)
    built = {item.doc.rel_path for item in result.site.items.values()}
    assert published == built


def test_embargo_ends_exactly_at_its_time(full_site: Path) -> None:
    before = _status(full_site, EMBARGO - dt.timedelta(minutes=1))
    at = _status(full_site, EMBARGO)
    assert EMBARGOED in _paths(before, Publication.EMBARGOED)
    assert EMBARGOED in _paths(at, Publication.PUBLISHED)


def test_listing_is_german_and_names_the_time(full_site: Path) -> None:
    text = format_status(_status(full_site, NOW))
    assert text.startswith("Stand: 26. November 2026, 13:00 Uhr (Europe/Berlin)")
    assert "15. Januar 2027, 09:00 Uhr (in 49 Tagen)" in text
    assert "Mitteilung mit Sperrfrist" in text and EMBARGOED in text
    assert "Entwürfe (3)" in text
    assert "Nächster Termin: 15. Januar 2027, 09:00 Uhr" in text


# --- the command and --now ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-01-15", dt.datetime(2027, 1, 15, tzinfo=BERLIN)),
        ("2027-01-15T09:00", EMBARGO),
        ("2027-01-15 09:00:00", EMBARGO),
        ("2027-01-15T08:00:00Z", EMBARGO),
        ("2027-01-15T09:00+01:00", EMBARGO),
        ("2027-07-01T10:00", dt.datetime(2027, 7, 1, 8, 0, tzinfo=dt.UTC)),  # summer time
    ],
)
def test_parse_now(text: str, expected: dt.datetime) -> None:
    assert parse_now(text) == expected


@pytest.mark.parametrize("text", ["morgen", "15.01.2027", "2027-13-01", ""])
def test_parse_now_rejects_other_formats(text: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_now(text)


def test_status_command(full_site: Path) -> None:
    runner = CliRunner()
    content = str(full_site / "content")
    before = runner.invoke(cli, ["--now", "2027-01-15T08:59", "status", "--content", content])
    assert before.exit_code == 0, before.output
    assert "Mit Sperrfrist (2)" in before.output
    # --now after the command name works too.
    after = runner.invoke(cli, ["status", "--content", content, "--now", "2027-01-15T09:00"])
    assert after.exit_code == 0
    assert "Mit Sperrfrist (1)" in after.output


def test_wrong_now_is_a_usage_error(full_site: Path) -> None:
    result = CliRunner().invoke(cli, ["--now", "morgen", "status"])
    assert result.exit_code == 2
    assert "kein Zeitpunkt" in result.output


def test_status_reports_broken_files(tmp_path: Path) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    (root / "content/presse/2024-06-01-kaputt.md").write_text(
        "---\ntitle: Kaputt\ndate: 2024-06-01\nunbekannt: 1\n---\n", encoding="utf-8"
    )
    result = CliRunner().invoke(
        cli, ["--now", "2026-11-26", "status", "--content", str(root / "content")]
    )
    assert result.exit_code == 1
    assert "content/presse/2024-06-01-kaputt.md:4: Unbekannter Schlüssel" in result.output


def test_build_uses_the_now_clock(tmp_path: Path) -> None:
    root = copy_fixture_site("full", tmp_path / "site")
    args = ["build", "--content", str(root / "content"), "--templates", str(TEMPLATES)]
    runner = CliRunner()
    early = runner.invoke(cli, ["--now", "2027-01-15T08:59", *args, "--output", str(root / "a")])
    assert early.exit_code == 0, early.output
    late = runner.invoke(cli, [*args, "--output", str(root / "b"), "--now", "2027-01-15T09:00"])
    assert late.exit_code == 0, late.output
    page = Path("presse/sperrfrist-januar/index.html")
    assert not (root / "a" / page).exists()
    assert (root / "b" / page).is_file()


@pytest.mark.parametrize(
    ("broken", "expected"),
    [(1, "1 Fehler: Solange er besteht, bricht"), (2, "2 Fehler: Solange sie bestehen, bricht")],
)
def test_problem_count_speaks_by_number(tmp_path: Path, broken: int, expected: str) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    for n in range(broken):
        (root / f"content/presse/2024-06-0{n + 1}-kaputt.md").write_text(
            f"---\ntitle: Kaputt\ndate: 2024-06-0{n + 1}\nunbekannt: 1\n---\n", encoding="utf-8"
        )
    result = CliRunner().invoke(
        cli, ["--now", "2026-11-26", "status", "--content", str(root / "content")]
    )
    assert result.exit_code == 1
    assert expected in result.output
