"""The press e-mail's quoted-printable encoding (render/quoted_printable.py).

Written without the e-mail package's per-character ``str.translate``; these tests
hold it to the very bytes that package writes, for hand-made texts at the places
where the encoder decides something (the 76-character limit, escapes that would be
cut, spaces and tabs at a line's end, line breaks of every kind), for any text, and
for the parts of every release of the sample site and the full fixture.
"""

from __future__ import annotations

import email
import email.policy
from email import quoprimime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kldigital_site.build import build
from kldigital_site.config import load_config
from kldigital_site.render.quoted_printable import encode_text
from tests.conftest import NOW, REPO, TEMPLATES, build_site_at, copy_fixture_site


def _as_email_package_encodes(text: str) -> bytes:
    """What ``EmailMessage.set_content(text, cte="quoted-printable")`` writes at lines of
    at most 76 characters (tests/test_newsroom.py checks the whole message)."""
    lines = b"\n".join(text.encode("utf-8").splitlines()) + b"\n"
    return quoprimime.body_encode(lines.decode("latin-1"), 76, "\r\n").encode("ascii")


# What a line may end in where it is cut: an escape ("=3D", "=C3=A4", four for the emoji),
# a space or tab (escaped at a line's end if there is room), or nothing special.
_ENDINGS = ["", " ", "\t", "  ", " \t", "=", "==", "ä", "äö", "€", "😀", "= ", "ä\t", "x ", "=x"]
_STARTS = ["", ".", "From ", " ", "="]


def test_lines_around_the_limit_are_encoded_as_the_email_package_does() -> None:
    texts = ["", "\n", "\n\n", ".", ".\n", "From\n", "\r", "\r\n", "\r\r\n\n", "a\rb\r\nc\n"]
    for size in range(0, 160):
        for start in _STARTS:
            for ending in _ENDINGS:
                line = start + "x" * size + ending
                texts += [line, line + "\n", line + "\r\n" + line, f"{line}\n\n{line} x"]
    for ending in _ENDINGS:  # the same ending at each place of a line cut twice
        texts += ["y" * size + ending + "z" * 80 for size in range(60, 160)]
    for text in texts:
        assert encode_text(text) == _as_email_package_encodes(text), repr(text)


def test_line_breaks_and_control_characters_are_encoded_as_the_email_package_does() -> None:
    # Characters str.splitlines() breaks at, which bytes.splitlines() keeps, and the rest
    # of the bytes below a space.
    for char in [*map(chr, range(0x20)), "\x7f", "\x85", "\u2028", "\u2029", "\xa0"]:
        for size in (0, 1, 74, 75, 76, 77):
            text = "x" * size + char + "y" * size + "\n" + char
            assert encode_text(text) == _as_email_package_encodes(text), repr(text)


_PIECES = st.sampled_from(
    ["x" * 70, "x" * 37, "x", "=", "ä", "€", "😀", " ", "\t", "\n", "\r", "\r\n", ".", "From "]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_PIECES | st.text(max_size=4), max_size=40).map("".join))
def test_any_text_is_encoded_as_the_email_package_does(text: str) -> None:
    assert encode_text(text) == _as_email_package_encodes(text)


@pytest.mark.parametrize("site", ["sample", "full"])
def test_every_release_part_is_encoded_as_the_email_package_does(
    site: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    tmp = tmp_path_factory.mktemp(site)
    if site == "sample":
        config = load_config(REPO / "content", TEMPLATES, tmp / "out")
        build(config, now=NOW, use_cache=False)
    else:
        build_site_at(copy_fixture_site("full", tmp / "site"), output=tmp / "out")
    messages = sorted((tmp / "out").rglob("*.eml"))
    assert messages
    for path in messages:
        raw = path.read_bytes()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        for part in message.iter_parts():
            text = part.get_content().replace("\r\n", "\n")
            assert encode_text(text) == _as_email_package_encodes(text), path
            assert encode_text(text) in raw, path
