"""The command line as editors use it: build, check, flags, exit codes, any locale."""

from __future__ import annotations

import gc
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import lxml.html
import pytest

from kldigital_site import cli as cli_module
from kldigital_site.cache import CACHE_DIR_NAME as CACHE
from kldigital_site.cli import count
from tests.conftest import NOW, TEMPLATES, build_cli, copy_fixture_site, run_cli, tree_state

MakeSite = Callable[[Mapping[str, str | bytes]], Path]

SUMMER = {
    "content/presse/2021-06-25-sommerfest.md": """\
    ---
    title: Sommerfest im Rathaus
    date: 2021-06-25
    ---
    Das Fest beginnt um 15 Uhr.
    """
}


def test_build_reports_what_it_did(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site({})
    out = tmp_path / "out"
    first = build_cli(root, out)
    assert first.exit_code == 0, first.stderr
    # Pages and files are counted apart: "32 Seiten, 62 neu" mixed them.
    summary, left_out = first.stdout.splitlines()
    found = re.fullmatch(
        r"Fertig: (\d+) Seiten; (\d+) Dateien \((\d+) neu oder geändert, 0 unverändert\), "
        r"0 Dateien entfernt \(\d+,\d s\)\.",
        summary,
    )
    assert found, summary
    pages = sum(1 for p in out.rglob("*.html"))
    files = sum(1 for p in out.rglob("*") if p.is_file())
    assert (int(found[1]), int(found[2]), int(found[3])) == (pages, files, files)
    assert left_out == "Nichts zurückgehalten: kein Entwurf, keine Sperrfrist."
    assert first.stderr == ""
    again = build_cli(root, out)
    assert again.exit_code == 0
    assert f"; {files} Dateien (0 neu oder geändert, {files} unverändert), " in again.stdout


DRAFTS_AND_EMBARGO = {
    "content/presse/2024-06-01-entwurf.md": (
        "---\ntitle: E\ndate: 2024-06-01\ndraft: true\n---\nT.\n"
    ),
    "content/projekte/entwurf.md": "---\ntitle: P\nsummary: S.\ndraft: true\n---\nT.\n",
    "content/presse/2099-03-01-bald.md": "---\ntitle: B\ndate: 2099-03-01 10:00\n---\nT.\n",
}


@pytest.mark.parametrize("command", ["build", "check"])
def test_every_build_and_check_says_what_it_left_out(
    make_site: MakeSite, tmp_path: Path, command: str
) -> None:
    root = make_site(DRAFTS_AND_EMBARGO)
    out = tmp_path / "out"
    args = ("--content", root / "content", "--templates", TEMPLATES, "--output", out)
    result = run_cli(command, *args)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "2 Entwürfe und 1 Pressemitteilung mit Sperrfrist nicht veröffentlicht."
    # A build that finds nothing changed says it just the same.
    assert run_cli(command, *args).stdout.splitlines()[-1] == lines[-1]
    (root / "content/projekte/entwurf.md").unlink()
    (root / "content/presse/2099-03-01-bald.md").rename(root / "content/presse/2099-03-02-x.md")
    (root / "content/presse/2099-03-02-x.md").write_text(
        "---\ntitle: B\ndate: 2099-03-02 10:00\n---\nT.\n", encoding="utf-8"
    )
    write = root / "content/presse/2099-04-01-y.md"
    write.write_text("---\ntitle: Y\ndate: 2099-04-01\n---\nT.\n", encoding="utf-8")
    result = run_cli(command, *args)
    assert result.stdout.splitlines()[-1] == (
        "1 Entwurf und 2 Pressemitteilungen mit Sperrfrist nicht veröffentlicht."
    )


def test_defaults_are_content_templates_output_in_the_current_folder(
    make_site: MakeSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_site({})
    shutil.copytree(TEMPLATES, root / "templates")
    monkeypatch.chdir(root)
    result = run_cli("build")
    assert result.exit_code == 0, result.stderr
    assert (root / "output/index.html").is_file()


def test_check_writes_nothing(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site({})
    out = tmp_path / "out"
    site_before = tree_state(root)
    result = run_cli(
        "check", "--content", root / "content", "--templates", TEMPLATES, "--output", out
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("Geprüft: ") and "keine Fehler" in result.stdout
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]
    # The content is untouched; the only thing check may leave is its parse cache.
    site_after = {k: v for k, v in tree_state(root).items() if not k.startswith(CACHE)}
    assert site_after == site_before

    # Nor does it touch an existing build, even when the content has changed since.
    assert build_cli(root, out).exit_code == 0
    output_before = tree_state(out)
    page = root / "content/seiten/impressum.md"
    page.write_text(page.read_text(encoding="utf-8") + "\nNeu.\n", encoding="utf-8")
    result = run_cli(
        "check", "--content", root / "content", "--templates", TEMPLATES, "--output", out
    )
    assert result.exit_code == 0
    assert tree_state(out) == output_before


def test_check_finds_template_errors_too(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site({})
    templates = tmp_path / "templates"
    shutil.copytree(TEMPLATES, templates)
    base = templates / "base.html"
    base.write_text(base.read_text(encoding="utf-8") + "{% endif %}\n", encoding="utf-8")
    result = run_cli(
        "check", "--content", root / "content", "--templates", templates, "--output", tmp_path
    )
    assert result.exit_code == 1
    assert result.stderr.startswith("templates/base.html:")


def test_drafts_and_future_need_their_flags(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site(
        {
            "content/projekte/entwurf.md": "---\ntitle: E\nsummary: S.\ndraft: true\n---\nT.\n",
            "content/presse/2099-01-01-zukunft.md": "---\ntitle: Z\ndate: 2099-01-01\n---\nT.\n",
        }
    )
    cases = {(): (False, False), ("--drafts",): (True, False), ("--future",): (False, True)}
    cases[("--drafts", "--future")] = (True, True)
    for flags, (draft_shown, future_shown) in cases.items():
        out = tmp_path / ("out" + "".join(flags))
        assert build_cli(root, out, *flags).exit_code == 0
        assert (out / "projekte/entwurf/index.html").is_file() is draft_shown, flags
        assert (out / "presse/zukunft/index.html").is_file() is future_shown, flags
        feed = (out / "presse/feed.xml").read_text(encoding="utf-8")
        assert ("presse/zukunft/" in feed) is future_shown, flags


def test_strict_turns_warnings_into_errors(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site({"content/notizen.txt": "liegt an keinem bekannten Ort"})
    out = tmp_path / "out"
    lenient = build_cli(root, out)
    assert lenient.exit_code == 0
    assert "content/notizen.txt: Warnung: Datei liegt an keinem bekannten Ort" in lenient.stderr
    before = tree_state(out)
    strict = build_cli(root, out, "--strict")
    assert strict.exit_code == 1
    assert "content/notizen.txt: " in strict.stderr and "--strict" in strict.stderr
    assert tree_state(out) == before


def test_missing_content_folder_is_exit_1(tmp_path: Path) -> None:
    result = build_cli(tmp_path / "nirgends", tmp_path / "out")
    assert result.exit_code == 1
    assert "existiert nicht" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args", [["--help"], ["build", "--help"], ["--version"]])
def test_help_and_version(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.exit_code == 0
    assert result.stdout


def test_bom_and_crlf_files_build(make_site: MakeSite, tmp_path: Path) -> None:
    lines = ["---", "title: Mit BOM", "date: 2024-06-01", "---", "Erste Zeile,", "zweite Zeile."]
    release = "\ufeff" + "\r\n".join([*lines, "", "Zweiter Absatz.", ""])
    root = make_site({"content/presse/2024-06-01-bom.md": release.encode("utf-8")})
    out = tmp_path / "out"
    # Unminified: the line break inside the paragraph stays as Markdown left it.
    result = build_cli(root, out, "--no-minify")
    assert result.exit_code == 0, result.stderr
    html = (out / "presse/bom/index.html").read_bytes()
    assert b"\r" not in html and "\ufeff".encode() not in html
    page = lxml.html.fromstring(html)
    assert [h.text_content().strip() for h in page.iter("h1")] == ["Mit BOM"]
    assert b"Erste Zeile,\nzweite Zeile.</p>" in html
    assert b"<p>Zweiter Absatz.</p>" in html


# --- locale independence ------------------------------------------------------------------


@pytest.mark.parametrize(
    "locale_env",
    [
        {"LC_ALL": "C", "LANG": "C"},
        {"LC_ALL": "", "LANG": "en_US.UTF-8"},
        {"LC_ALL": "C", "LANG": "en_US.UTF-8"},
        {"LC_ALL": "", "LANG": "", "LC_TIME": "en_US.UTF-8"},
    ],
    ids=["C", "en_US", "C+en_US", "LC_TIME"],
)
def test_german_dates_and_messages_in_any_locale(
    make_site: MakeSite, tmp_path: Path, locale_env: dict[str, str]
) -> None:
    root = make_site(SUMMER)
    out = tmp_path / "out"
    env = {**os.environ, **locale_env}
    env.pop("PYTHONIOENCODING", None)
    env.pop("PYTHONUTF8", None)
    command = [sys.executable, "-m", "kldigital_site", "build", "--content", str(root / "content")]
    command += ["--templates", str(TEMPLATES), "--output", str(out)]

    done = subprocess.run(command, env=env, capture_output=True, check=False, timeout=120)

    assert done.returncode == 0, done.stderr.decode(errors="replace")
    page = (out / "presse/sommerfest/index.html").read_text(encoding="utf-8")
    assert "Kaiserslautern, 25. Juni 2021 –" in page
    assert "25. Juni 2021" in (out / "presse/index.html").read_text(encoding="utf-8")
    assert "June" not in page and "Jun 25" not in page

    # An error message with umlauts and German quotes reaches the terminal intact.
    (root / "content/seiten/impressum.md").write_text(
        "---\ntitel: Impressum\n---\nText.\n", encoding="utf-8"
    )
    failed = subprocess.run(command, env=env, capture_output=True, check=False, timeout=120)
    assert failed.returncode == 1
    stderr = failed.stderr.decode("utf-8")
    assert "content/seiten/impressum.md:2: Unbekannter Schlüssel „titel“." in stderr
    assert "Traceback" not in stderr


# --- German throughout (issue 18) -------------------------------------------------------

# Words of click's English texts and type names; none may appear in a help page.
ENGLISH = re.compile(
    r"\b(Usage|Options|Commands|Show|this|message|exit|the|and|default|required|TEXT|"
    r"INTEGER|RANGE|PATH|ARGS|COMMAND|TITLE|version|Error|Try|for)\b"
)


@pytest.mark.parametrize("command", ["", "build", "check", "serve", "new", "status", "clean"])
def test_the_help_of_every_command_is_german(command: str) -> None:
    result = run_cli(*command.split(), "--help")
    assert result.exit_code == 0
    assert result.stdout.startswith("Aufruf: ")
    assert "Optionen:" in result.stdout
    # Option names (--no-cache) and the kinds of `new` are the commands' own words.
    prose = re.sub(r"--?[a-z-]+|\{press\|project\|page\}|kldigital-site|cli", "", result.stdout)
    assert not ENGLISH.findall(prose), result.stdout


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["bild"], "Fehler: Unbekannter Befehl „bild“. Meinten Sie 'build'?"),
        (["build", "--port", "1"], "Fehler: Unbekannte Option „--port“."),
        (["serve", "--port", "x"], "Ungültiger Wert für '--port': „x“ ist keine gültige Zahl."),
        (["build", "--jobs", "0"], "Ungültiger Wert für '--jobs': 0 liegt nicht im Bereich"),
        (["new", "press"], "Fehler: Es fehlt das Argument 'TITEL'."),
    ],
)
def test_usage_errors_are_german(args: list[str], expected: str) -> None:
    result = run_cli(*args)
    assert result.exit_code == 2
    assert expected in result.stderr
    assert "Hilfe: " in result.stderr
    assert not ENGLISH.findall(result.stderr.replace("kldigital-site", "")), result.stderr


def test_a_port_in_use_names_the_make_command_of_the_guide(make_site: MakeSite) -> None:
    root = make_site({})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_cli("serve", "--content", root / "content", "--port", str(port))
    assert result.exit_code == 1
    assert f"Die Vorschau kann 127.0.0.1:{port} nicht öffnen" in result.stderr
    assert "die Adresse wird schon verwendet" in result.stderr
    assert 'make serve SITE_ARGS="--port 8001"' in result.stderr


def test_check_counts_pages_by_number(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site({})
    result = run_cli("check", "--content", root / "content", "--templates", TEMPLATES)
    assert result.exit_code == 0, result.stderr
    assert re.match(r"Geprüft: \d+ Seiten, keine Fehler", result.stdout)
    assert count(1, "Seite", "Seiten") == "1 Seite"
    assert count(1024, "Seite", "Seiten") == "1.024 Seiten"


def test_a_build_pauses_the_garbage_collector_and_restores_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 15: with Python's default thresholds, full collections over everything a build
    # keeps were an eighth of an edit build's CPU at 10,000 items.
    seen: list[tuple[int, int, int]] = []
    collecting: list[bool] = []
    real = cli_module.build

    def recording(*args: object, **kwargs: object) -> object:
        seen.append(gc.get_threshold())
        collecting.append(gc.isenabled())
        # What an earlier build set aside is collectable again (the docstring).
        assert gc.get_freeze_count() == 0
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(cli_module, "build", recording)
    before = gc.get_threshold()
    assert gc.isenabled()
    root = copy_fixture_site("minimal", tmp_path / "site")
    assert build_cli(root, tmp_path / "out", "--now", NOW).exit_code == 0
    assert seen and seen[0][0] >= 50_000, seen
    assert collecting == [False]  # the build's own process: none at all
    assert gc.get_threshold() == before
    assert gc.isenabled()
    # What it made is set aside, not walked by the next collection.
    assert gc.get_freeze_count() > 0
    # Also when the build fails.
    (root / "content/site.yaml").write_text("kaputt: [", encoding="utf-8")
    assert build_cli(root, tmp_path / "out", "--now", NOW).exit_code == 1
    assert gc.get_threshold() == before
    assert gc.isenabled()
    gc.unfreeze()


def _collector_on(_: None, task: int) -> bool:
    return gc.isenabled()


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="workers are forked"
)
def test_workers_collect_garbage_though_the_build_does_not() -> None:
    # A worker renders thousands of pages: Jinja's cycles must be freed as it goes, or a
    # cold build's workers grow (measured at 1,000 items: 102 -> 118 MB without).
    from kldigital_site.workers import MIN_PARALLEL_TASKS, run_parallel

    gc.disable()
    try:
        tasks = list(range(MIN_PARALLEL_TASKS))
        answers = list(run_parallel(_collector_on, None, tasks, 2))
    finally:
        gc.enable()
    assert answers == [True] * len(tasks)


_COUNT_COLLECTIONS = """
import gc
import sys
started = []
gc.callbacks.append(lambda phase, info: started.append(phase) if phase == "start" else None)
{load}
assert "kldigital_site.cli" in sys.modules
print(len(started) - before, gc.isenabled(), gc.get_freeze_count() > 0)
"""


def test_the_command_line_imports_without_collections() -> None:
    # Issue 15: ~40 collections during the imports, all finding nothing, were 12-20 ms
    # of the CPU before a build begins (__main__.py).
    def collections_during(load: str) -> list[str]:
        code = _COUNT_COLLECTIONS.format(load=load)
        return subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()

    plain = collections_during("before = len(started)\nimport kldigital_site.cli")
    assert int(plain[0]) > 0 and plain[1:] == ["True", "False"]  # what the entry point spares
    entry = "from kldigital_site.__main__ import cli_main\nbefore = len(started)\n"
    # What the imports made is set aside, not walked by the next collection.
    assert collections_during(entry + "cli_main()") == ["0", "True", "True"]
    assert collections_during(entry + "gc.disable()\ncli_main()") == ["0", "False", "True"]
