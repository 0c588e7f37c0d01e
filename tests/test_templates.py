"""render/templates.py: the Jinja environment looks names up exactly as Jinja does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
import pytest

from kldigital_site.config import load_config
from kldigital_site.render.templates import make_environment
from kldigital_site.render.views import SharedView
from tests.conftest import TEMPLATES, copy_fixture_site


@pytest.fixture
def env(tmp_path: Path) -> jinja2.Environment:
    root = copy_fixture_site("full", tmp_path / "site")
    return make_environment(load_config(root / "content", TEMPLATES, tmp_path / "out"), {})


@pytest.mark.parametrize(
    "value",
    [
        {"title": "Baumkataster", "items": "ein Schlüssel wie eine Methode", "get": 1},
        SharedView({"title": "Baumkataster", "reads": "ein Schlüssel wie ein Feld"}, ("body:x",)),
    ],
    ids=["dict", "view"],
)
@pytest.mark.parametrize("name", ["title", "items", "get", "reads", "keys", "fehlt", "__class__"])
def test_names_are_found_as_jinja_finds_them(
    env: jinja2.Environment, value: Any, name: str
) -> None:
    """A dict's or view's key in ``page.title``: Jinja looks for an attribute first, then
    the item. The shortcut for names no attribute can have gives the same everywhere."""
    ours = env.getattr(value, name)
    theirs = jinja2.Environment.getattr(env, value, name)
    if isinstance(theirs, jinja2.Undefined):
        assert isinstance(ours, type(theirs)) and ours._undefined_name == name
    else:
        assert ours == theirs


def test_a_misspelt_name_still_fails_the_page(env: jinja2.Environment) -> None:
    template = env.from_string("{{ page.titel }}")
    with pytest.raises(jinja2.UndefinedError, match="titel"):
        template.render(page={"title": "Baumkataster"})
    shown = env.from_string("{{ page.title }} {{ page.items() | list | length }}")
    assert shown.render(page={"title": "Baumkataster", "items": 3}) == "Baumkataster 2"


def test_a_templates_globals_are_one_dict_with_the_environments_and_its_own(
    env: jinja2.Environment,
) -> None:
    """``make_globals``: a plain dict, not Jinja's ChainMap (half of the cost of a render
    with three imports), holding ``asset`` and Jinja's own globals under a template's
    own, and imported macros see them as before."""
    template = env.from_string("{{ x }} {{ range(2) | list }}", globals={"x": "eigen"})
    assert type(template.globals) is dict
    assert template.globals["asset"] is env.globals["asset"]
    assert template.render() == "eigen [0, 1]"
    imports = env.from_string(
        '{% from "partials/cards.html" import press_cards %}{{ press_cards is defined }}'
    )
    assert type(imports.globals) is dict
    assert imports.render() == "True"
