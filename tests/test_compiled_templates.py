"""render/compiled.py: templates compiled by one build are loaded as code by the next.

Each test that keeps compiled code checks that it is not kept too long: a changed
template, a filter the tool no longer registers, another Jinja, Python or tool, a
template moved to another folder, a damaged file all make Jinja compile again, and
the output is that of a clean build.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest

from kldigital_site.build import build
from kldigital_site.cache import CACHE_DIR_NAME
from kldigital_site.config import load_config
from kldigital_site.render import compiled as compiled_module
from kldigital_site.render.compiled import COMPILED_DIR, CompiledTemplates
from kldigital_site.render.templates import make_environment, render_template
from tests.conftest import NOW, TEMPLATES, copy_fixture_site
from tests.test_incremental import RELEASE, Site, same_as_clean


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The name of every template Jinja compiles from here on (in this process)."""
    names: list[str] = []
    original = jinja2.Environment.compile

    def counting(self: jinja2.Environment, source: Any, name: Any = None, *args: Any) -> Any:
        names.append(name)
        return original(self, source, name, *args)

    monkeypatch.setattr(jinja2.Environment, "compile", counting)
    yield names


def test_a_build_after_a_build_compiles_only_the_changed_template(
    tmp_path: Path, compiles: list[str]
) -> None:
    site = Site(tmp_path)
    site.build()
    assert "base.html" in compiles and "partials/cards.html" in compiles
    compiles.clear()
    site.edit(RELEASE, lambda t: t + "\nEin Nachtrag.\n")
    site.build()
    assert compiles == []
    site.edit("base.html", lambda t: t.replace("</footer>", "<p>Fußzeile neu</p>\n</footer>", 1))
    site.build()
    assert compiles == ["base.html"]
    assert b"Fu\xc3\x9fzeile neu" in same_as_clean(site, tmp_path, "base")["index.html"]


def test_what_a_template_loaded_as_code_imports_is_still_followed(
    tmp_path: Path, compiles: list[str]
) -> None:
    # partials/picture.html is imported by partials/cards.html, which the lists import.
    # Every page renders with templates loaded as code, so the templates they name come
    # from the compiled files: without them, a change of picture.html left lists stale.
    site = Site(tmp_path)
    site.build()
    site.edit("base.html", lambda t: t.replace("</footer>", "<p>Fußzeile neu</p>\n</footer>", 1))
    compiles.clear()
    site.build()
    assert "partials/cards.html" not in compiles
    site.edit(
        "partials/picture.html",
        lambda t: t.replace('alt="{{ img.alt }}"', 'alt="{{ img.alt }}" data-neu=""'),
    )
    site.build()
    built = same_as_clean(site, tmp_path, "picture")
    assert b"data-neu" in built["index.html"] and b"data-neu" in built["projekte/index.html"]


def _environment(tmp_path: Path, templates: Path = TEMPLATES, *, write: bool = True) -> Any:
    root = tmp_path / "site"
    if not root.exists():
        copy_fixture_site("full", root)
    config = load_config(root / "content", templates, tmp_path / "out")
    return make_environment(config, {}, CompiledTemplates(tmp_path / "compiled", write=write))


def test_a_filter_the_tool_no_longer_registers_is_an_error_again(tmp_path: Path) -> None:
    _environment(tmp_path).get_template("press_release.html")  # compiled and kept
    env = _environment(tmp_path)
    del env.filters["iso"]
    with pytest.raises(jinja2.TemplateAssertionError, match="iso"):
        env.get_template("press_release.html")


@pytest.mark.parametrize(
    "change",
    ["jinja", "python", "tool", "setting"],
)
def test_another_jinja_python_tool_or_setting_compiles_again(
    tmp_path: Path, compiles: list[str], monkeypatch: pytest.MonkeyPatch, change: str
) -> None:
    _environment(tmp_path).get_template("base.html")
    compiles.clear()
    _environment(tmp_path).get_template("base.html")
    assert compiles == []  # kept
    if change == "jinja":
        monkeypatch.setattr(jinja2, "__version__", "3.9.9")
    elif change == "python":
        monkeypatch.setattr(sys, "version", "3.99.0 (anders)")
    elif change == "tool":
        monkeypatch.setattr(compiled_module, "tool_fingerprint", lambda: "ein anderer Stand")
    env = _environment(tmp_path)
    if change == "setting":
        env.trim_blocks = False
    env.get_template("base.html")
    assert compiles == ["base.html"]


def test_a_template_error_names_the_template_where_it_is_now(tmp_path: Path) -> None:
    # The code carries its template's path: a copy of the templates elsewhere (another
    # checkout with the same cache) must report its errors at its own file and line.
    first = tmp_path / "a" / "templates"
    first.mkdir(parents=True)
    (first / "teilen.html").write_text("<p>\n{{ anzahl }}\n{{ 1 // anzahl }}\n</p>\n", "utf-8")
    second = tmp_path / "b" / "templates"
    shutil.copytree(first, second)
    for templates in (first, first, second):
        env = _environment(tmp_path, templates)
        staged = render_template(env, "teilen.html", {"anzahl": 0})
        assert staged.value is None
        (error,) = staged.problems
        assert (error.path, error.line) == ("templates/teilen.html", 3)
        assert "division" in error.message


def test_a_damaged_compiled_file_is_compiled_again(tmp_path: Path, compiles: list[str]) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()
    (templates / "rahmen.html").write_text("<main>{% block inhalt %}{% endblock %}</main>\n")
    (templates / "seite.html").write_text(
        '{% extends "rahmen.html" %}{% block inhalt %}{{ titel | upper }}{% endblock %}'
    )
    expected = _environment(tmp_path, templates).get_template("seite.html").render(titel="Rat")
    assert expected == "<main>RAT</main>\n"
    files = [p for p in (tmp_path / "compiled").iterdir() if p.is_file()]
    assert len(files) == 2
    for path in files:
        path.write_bytes(path.read_bytes()[:-20])  # cut short in the middle of the code
    compiles.clear()
    env = _environment(tmp_path, templates)
    assert env.get_template("seite.html").render(titel="Rat") == expected
    assert sorted(compiles) == ["rahmen.html", "seite.html"]
    compiles.clear()
    _environment(tmp_path, templates).get_template("seite.html")  # written again, whole
    assert compiles == []


def test_check_and_a_build_without_the_cache_write_no_compiled_templates(tmp_path: Path) -> None:
    root = copy_fixture_site("full", tmp_path / "site")
    config = load_config(root / "content", TEMPLATES, tmp_path / "out")
    compiled = root / CACHE_DIR_NAME / COMPILED_DIR
    build(config, now=NOW, jobs=1, write=False)
    build(config, now=NOW, jobs=1, use_cache=False)
    assert not compiled.exists()
    build(config, now=NOW, jobs=1)
    assert any(compiled.iterdir())
