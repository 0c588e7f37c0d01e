"""Splitting a Markdown file into front matter and body, in file coordinates.

Editors save files from Windows editors (CRLF, BOM) and old Macs (CR); the line
numbers in error messages must still be the lines they see.
"""

from __future__ import annotations

import pytest

from kldigital_site.content.frontmatter import (
    FrontMatterMissing,
    normalise_text,
    split_front_matter,
)
from kldigital_site.content.yamlpos import load_located


@pytest.mark.parametrize(
    "raw",
    [
        b"---\ntitle: X\n---\nText\n",
        b"\xef\xbb\xbf---\ntitle: X\n---\nText\n",
        b"---\r\ntitle: X\r\n---\r\nText\r\n",
        b"\xef\xbb\xbf---\r\ntitle: X\r\n---\r\nText\r\n",
        b"---\rtitle: X\r---\rText\r",
    ],
    ids=["lf", "bom", "crlf", "bom-crlf", "cr"],
)
def test_bom_and_line_endings_normalise_to_the_same_text(raw: bytes) -> None:
    assert normalise_text(raw) == "---\ntitle: X\n---\nText\n"


def test_normalising_keeps_the_number_of_lines() -> None:
    raw = b"\xef\xbb\xbf---\r\na: 1\r\n\r\nb: 2\r\n---\r\n\r\n\r\nText\r\n"
    assert normalise_text(raw).count("\n") == raw.count(b"\n")


def test_non_utf8_is_refused_not_guessed() -> None:
    with pytest.raises(UnicodeDecodeError):
        normalise_text("---\ntitle: Straße\n---\n".encode("latin-1"))


def test_split_reports_where_yaml_and_body_start() -> None:
    text = "---\ntitle: Titel\nsummary: Kurz\n---\nErster Absatz.\n\nZweiter.\n"
    split = split_front_matter(text)
    assert split.yaml_text == "title: Titel\nsummary: Kurz\n"
    assert split.yaml_first_line == 2
    assert split.body == "Erster Absatz.\n\nZweiter.\n"
    assert split.body_first_line == 5
    # The body's first line is line body_first_line of the file.
    assert text.splitlines()[split.body_first_line - 1] == "Erster Absatz."


def test_key_lines_are_file_lines_after_a_bom_and_crlf() -> None:
    raw = "\ufeff---\r\ntitle: Titel\r\n\r\n# Kommentar\r\ndate: 2024-05-02\r\n---\r\nText\r\n"
    split = split_front_matter(normalise_text(raw.encode("utf-8")))
    located = load_located(split.yaml_text, split.yaml_first_line)
    assert located.entries["title"].key_line == 2
    assert located.entries["date"].key_line == 5
    assert split.body_first_line == 7


def test_a_rule_in_the_body_does_not_end_the_front_matter_twice() -> None:
    text = "---\ntitle: X\n---\nOben\n\n---\n\nUnten\n"
    split = split_front_matter(text)
    assert split.yaml_text == "title: X\n"
    assert split.body == "Oben\n\n---\n\nUnten\n"


def test_empty_front_matter_and_empty_body() -> None:
    split = split_front_matter("---\n---\n")
    assert split.yaml_text == ""
    assert split.body == ""
    assert split.body_first_line == 3


def test_closing_line_may_carry_trailing_spaces() -> None:
    split = split_front_matter("---\ntitle: X\n---   \nText\n")
    assert split.yaml_text == "title: X\n"
    assert split.body == "Text\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Titel\n=====\n\nText\n", "muss mit einem Front-Matter-Block beginnen"),
        ("\n---\ntitle: X\n---\nText\n", "muss mit einem Front-Matter-Block beginnen"),
        ("", "muss mit einem Front-Matter-Block beginnen"),
        ("---\ntitle: X\n\nText ohne Ende\n", "nicht mit einer Zeile --- abgeschlossen"),
    ],
    ids=["no-block", "blank-line-first", "empty-file", "not-closed"],
)
def test_missing_or_unclosed_front_matter_is_line_1(text: str, message: str) -> None:
    with pytest.raises(FrontMatterMissing, match=message) as info:
        split_front_matter(text)
    assert info.value.line == 1
