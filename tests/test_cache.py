"""The document codec of the build cache: what goes in comes out, whatever editors write."""

from __future__ import annotations

import datetime as dt

import pytest

from kldigital_site.cache import decode_document, encode_document
from kldigital_site.content.discover import SourceKind
from kldigital_site.content.parse import Document
from kldigital_site.content.schema import PartialDate


def _document(meta: dict[str, object]) -> Document:
    return Document(
        rel_path="content/presse/x.md",
        content_path="presse/x.md",
        kind=SourceKind.PRESS,
        slug="x",
        meta=meta,
        lines={"title": 2, "$m": 3},
        body=None,
        body_line=9,
        digest="abc",
        head_digest="def",
    )


def test_every_value_type_comes_back_as_it_went_in() -> None:
    meta = {
        "title": "Straße & „Zitat“",
        "date": dt.datetime(2021, 6, 25, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        "day": dt.date(2021, 6, 25),
        "start": PartialDate(2021, 6),
        "tags": ("Smart City", "Bürgerbeteiligung"),
        "links": [{"title": "Projekt", "url": "https://example.org/"}],
        # Keys that look like the codec's own tags must stay plain keys.
        "extra": {"$dt": "2021-01-01", "$m": [["a", 1]], "$t": [1, 2]},
        "empty": {},
        "none": None,
        "count": 3,
    }
    decoded = decode_document(encode_document(_document(meta)))
    assert decoded.meta == meta
    assert type(decoded.meta["tags"]) is tuple
    assert decoded.lines == {"title": 2, "$m": 3}
    assert (decoded.rel_path, decoded.kind, decoded.slug, decoded.body_line) == (
        "content/presse/x.md",
        SourceKind.PRESS,
        "x",
        9,
    )
    assert (decoded.digest, decoded.head_digest) == ("abc", "def")


@pytest.mark.parametrize(
    "payload",
    ['{"rel_path": 1}', "[1, 2]", '["a", "b", "presse", "x", {"$x": 1}, [], 1, "d", "e"]'],
)
def test_a_payload_of_another_shape_is_rejected(payload: str) -> None:
    with pytest.raises((ValueError, KeyError, TypeError)):
        decode_document(payload)
