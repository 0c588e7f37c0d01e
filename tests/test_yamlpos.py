"""YAML with file lines: every key and value keeps the line an editor sees."""

from __future__ import annotations

import datetime as dt

import pytest

from kldigital_site.content.yamlpos import YamlProblem, load_located


def test_key_and_value_lines_are_shifted_to_file_lines() -> None:
    text = "title: Titel\ntags:\n  - Mobilität\n  - Umwelt\ndefaults:\n  location: KL\n"
    located = load_located(text, 5)
    assert located.value["title"] == "Titel"
    assert located.entries["title"].key_line == 5
    tags = located.entries["tags"]
    assert tags.key_line == 6
    assert [item.line for item in tags.items] == [7, 8]
    assert [item.value for item in tags.items] == ["Mobilität", "Umwelt"]
    nested = located.entries["defaults"]
    assert nested.key_line == 9
    assert nested.entries["location"].key_line == 10


def test_a_value_on_the_next_line_keeps_its_key_line() -> None:
    located = load_located("summary:\n  Ein längerer\n  Text\n", 2)
    entry = located.entries["summary"]
    assert entry.key_line == 2
    assert entry.line == 3
    assert entry.value == "Ein längerer Text"


def test_empty_yaml_is_an_empty_mapping() -> None:
    located = load_located("", 2)
    assert located.value == {}
    assert located.is_mapping
    assert located.line == 2


def test_yaml_types_editors_use() -> None:
    located = load_located(
        "date: 2021-06-25\nwhen: 2027-01-15 10:00:00+01:00\nflag: true\nn: 3\nnone:\n", 1
    )
    assert located.value["date"] == dt.date(2021, 6, 25)
    assert located.value["when"] == dt.datetime(
        2027, 1, 15, 10, tzinfo=dt.timezone(dt.timedelta(hours=1))
    )
    assert located.value["flag"] is True
    assert located.value["n"] == 3
    assert located.value["none"] is None


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        # Text with ": " in it: the colon's line.
        ("title: X\nsummary: Ziel: mehr Daten\n", 3, "unerwarteter Doppelpunkt"),
        # An unclosed quote: the line where it opens, not the end of the block.
        ('title: X\nsummary: "Daten zum\ntags: [a]\n', 3, "Anführungszeichen"),
        # A key without colon: its own line.
        ("title: X\nsummary Ein Text\ndate: 2024-01-01\n", 3, "Doppelpunkt"),
        # An unclosed [ list: the line where it opens.
        ("title: X\ntags: [a, b\n", 3, "Liste in [ ]"),
        ("title: X\ntags:\n  - a\n - b\n", 5, "Einrückung"),
        ("title: X\n\tsummary: b\n", 3, "Tabulatoren"),
        ("title: X\ntitle: Y\n", 3, "„title“ steht doppelt"),
        ("title: X\nstart: 2021-02-30\n", 3, "2021-02-30"),
    ],
    ids=["colon", "quote", "no-colon", "flow-list", "indent", "tab", "duplicate", "date"],
)
def test_syntax_errors_point_at_the_editors_line(text: str, line: int, message: str) -> None:
    with pytest.raises(YamlProblem) as info:
        load_located(text, 2)
    assert info.value.line == line
    assert message in str(info.value)


def test_messages_are_german() -> None:
    for text in ('a: "x\n', "a: b: c\n", "a: [1\n", "a: 1\n\tb: 2\n"):
        with pytest.raises(YamlProblem) as info:
            load_located(text, 1)
        assert str(info.value).startswith("YAML-Syntaxfehler: ")
        assert " found " not in str(info.value) and "expected" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("title: &t Titel\nsummary: *t\n", 3),
        ("tags: &t [a, b]\nx: 1\npartners: *t\n", 4),
    ],
)
def test_aliases_are_refused_at_the_alias(text: str, line: int) -> None:
    with pytest.raises(YamlProblem, match="Aliase") as info:
        load_located(text, 2)
    assert info.value.line == line


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for n in range(1, 9):
        prev = chr(ord("a") + n - 1)
        name = chr(ord("a") + n)
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    with pytest.raises(YamlProblem, match="Aliase"):
        load_located("\n".join(lines) + "\n", 1)


@pytest.mark.parametrize(
    "text",
    ["true: X\n", "1: X\n", "[a]: X\n", "a: &b {x: 1}\nc:\n  <<: *b\n"],
    ids=["bool", "int", "list", "merge"],
)
def test_keys_must_be_plain_names(text: str) -> None:
    with pytest.raises(YamlProblem):
        load_located(text, 1)


def test_unsafe_tags_are_refused() -> None:
    with pytest.raises(YamlProblem, match="Ungültiger Wert") as info:
        load_located("title: X\nx: !!python/name:os.system ''\n", 1)
    assert info.value.line == 2


def test_deep_nesting_is_refused() -> None:
    with pytest.raises(YamlProblem, match="zu tief"):
        load_located("a: " + "[" * 50 + "]" * 50 + "\n", 1)
