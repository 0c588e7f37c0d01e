"""Broken content: every error class is reported as ``path:line: message``, all at once.

Each ``fixtures/invalid/<case>/`` holds only the files that differ from
``fixtures/sites/minimal`` (paths relative to the site root; a ``templates/``
folder there is laid over a copy of the project's templates) and
``expected_errors.txt`` with the exact lines the command line prints. The build
must exit with 1 and leave the output of the previous, good build untouched.
Optionally ``remove.txt`` names files of the minimal site the case deletes, and
``options.txt`` the command-line options the case is built with (``--strict``
for what is a warning otherwise). A missing file is reported without a line.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, TEMPLATES, build_cli, copy_fixture_site, run_cli, tree_state

INVALID = FIXTURES / "invalid"
CASES = sorted(p.name for p in INVALID.iterdir() if p.is_dir())
EXPECTED = "expected_errors.txt"
REMOVE = "remove.txt"
OPTIONS = "options.txt"
_CONTROL_FILES = {EXPECTED, REMOVE, OPTIONS}
ERROR_LINE = re.compile(
    r"^(?P<path>(?:content|templates)/[^:]+)(?::(?P<line>[1-9]\d*))?: (?P<message>.+)$"
)

# The error classes of the contract (section "Errors" of the content model), one case each.
REQUIRED_CASES = {
    "yaml-syntax",
    "front-matter-not-closed",
    "missing-required-key",
    "unknown-key",
    "wrong-type",
    "invalid-date",
    "invalid-enum",
    "date-not-matching-file-name",
    "end-before-start",
    "unknown-project",
    "unknown-contact",
    "unknown-boilerplate",
    "missing-image",
    "image-without-alt",
    "duplicate-slug",
    "output-path-collision",
    "slug-not-plain",
    "non-utf8",
    "yaml-alias",
    "site-yaml-unknown-key",
    "broken-link",
    "template-error",
    "several-broken-files",
    # Every error of a build in one run (issue 14): a schema, a reference, a link and a
    # template error in four files; and the trial's three mistakes in one file. The
    # broken project is still linked to and named by the press release without an error.
    "errors-of-every-stage",
    "one-file-several-stages",
    # A contact with an error still exists; an id the file lacks is still unknown.
    "broken-data-file-no-cascade",
    # A link or image path that differs in case, extension or a typo: "Meinten Sie …?".
    "link-near-miss",
    # BITV 2.0, DDG, MStV (issue 13)
    "missing-easy-language-page",
    "explains-without-statement",
    "statement-review-outdated",
    "bad-language-tag",
    "missing-video",
    "impressum-without-register",
}


def apply_case(case: str, root: Path) -> Path:
    """Lay the case over a copy of the minimal site; returns the templates folder to use."""
    case_dir = INVALID / case
    templates = TEMPLATES
    if (case_dir / "templates").is_dir():
        templates = root / "templates"
        shutil.copytree(TEMPLATES, templates)
    if (case_dir / REMOVE).is_file():
        for rel in (case_dir / REMOVE).read_text(encoding="utf-8").split():
            (root / rel).unlink()
    for source in sorted(case_dir.rglob("*")):
        if source.is_file() and source.name not in _CONTROL_FILES:
            target = root / source.relative_to(case_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
    return templates


def case_options(case: str) -> list[str]:
    options = INVALID / case / OPTIONS
    return options.read_text(encoding="utf-8").split() if options.is_file() else []


def expected_lines(case: str) -> list[str]:
    return (INVALID / case / EXPECTED).read_text(encoding="utf-8").splitlines()


def test_every_error_class_has_a_case() -> None:
    assert set(CASES) >= REQUIRED_CASES
    for case in CASES:
        assert (INVALID / case / EXPECTED).is_file(), f"{case} has no {EXPECTED}"
        overlay = [
            p
            for p in (INVALID / case).rglob("*")
            if p.is_file() and p.name not in (EXPECTED, OPTIONS)
        ]
        assert overlay, f"{case} changes nothing"


@pytest.mark.parametrize("case", CASES)
def test_expectations_point_at_real_lines(case: str, tmp_path: Path) -> None:
    """Guards the fixtures themselves: each expected line names a file of the case and a line
    that exists in it."""
    root = copy_fixture_site("minimal", tmp_path / "site")
    apply_case(case, root)
    lines = expected_lines(case)
    assert lines, f"{case}: {EXPECTED} is empty"
    for line in lines:
        match = ERROR_LINE.match(line)
        assert match, f"{case}: not a path:line: message line: {line!r}"
        path = root / match["path"]
        if match["line"] is None:  # a file the site lacks
            assert not path.exists(), f"{case}: {match['path']} exists"
            continue
        assert path.is_file(), f"{case}: {match['path']} does not exist"
        assert int(match["line"]) <= path.read_bytes().count(b"\n") + 1, line


@pytest.mark.parametrize("case", CASES)
def test_invalid_site_fails_with_exact_errors_and_keeps_output(case: str, tmp_path: Path) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    output = root / "output"
    good = build_cli(root, output)
    assert good.exit_code == 0, good.stderr
    before = tree_state(output)
    assert "index.html" in before
    templates = apply_case(case, root)

    expected = expected_lines(case)
    # The second run finds the broken files' results in the build cache: same report.
    for _run in ("first", "cached"):
        result = build_cli(root, output, *case_options(case), templates=templates)

        printed = result.stderr.splitlines()
        assert result.exit_code == 1, result.output
        assert printed == [
            *expected,
            f"Abgebrochen: {len(expected)} Fehler. Die Ausgabe wurde nicht verändert.",
        ]
        assert result.stdout == ""
        assert tree_state(output) == before
        assert sorted(p.name for p in root.parent.iterdir()) == ["site"]  # no staging left


@pytest.mark.parametrize("case", CASES)
def test_check_reports_the_same_errors_and_writes_nothing(case: str, tmp_path: Path) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    templates = apply_case(case, root)
    output = root / "output"

    result = run_cli(
        "check",
        "--content",
        root / "content",
        "--templates",
        templates,
        "--output",
        output,
        *case_options(case),
    )

    assert result.exit_code == 1
    assert result.stderr.splitlines()[:-1] == expected_lines(case)
    assert not output.exists()


def test_all_errors_of_several_files_are_listed_in_one_run() -> None:
    lines = expected_lines("several-broken-files")
    files = {line.split(":", 1)[0] for line in lines}
    assert len(files) >= 4
    assert len(lines) > len(files)  # several errors within one file, too
    assert lines == sorted(lines, key=lambda x: (x.split(":")[0], int(x.split(":")[1])))


def test_both_files_of_a_duplicate_slug_are_named() -> None:
    lines = expected_lines("duplicate-slug")
    first, second = (line.split(":", 1)[0] for line in lines)
    assert first != second
    assert second in lines[0] and first in lines[1]


@pytest.mark.parametrize(
    "args",
    [
        ["build", "--gibt-es-nicht"],
        ["build", "--jobs", "0"],
        ["bauen"],
        ["build", "überzählig"],
    ],
)
def test_wrong_usage_exits_with_2_and_writes_nothing(args: list[str], tmp_path: Path) -> None:
    root = copy_fixture_site("minimal", tmp_path / "site")
    output = root / "output"
    assert build_cli(root, output).exit_code == 0
    before = tree_state(output)

    result = run_cli(*args, "--content", root / "content", "--output", output)

    assert result.exit_code == 2
    assert "Usage:" in result.stderr or "Aufruf" in result.stderr
    assert tree_state(output) == before
