"""The codecs of the build cache: what goes in comes out, whatever editors write."""

from __future__ import annotations

import dataclasses
import datetime as dt
import marshal
import sqlite3
from pathlib import Path

import pytest

from kldigital_site import cache as cache_module
from kldigital_site.cache import BuildCache, PageRecord, decode_document, encode_document
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
        # Dates inside tuples, lists and mappings (``images``, ``known_issues`` …).
        "nested": ({"day": dt.date(2020, 1, 2), "when": [PartialDate(2020, 5)]},),
        "flag": True,
        "ratio": 1.5,
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


def _stored(*fields: object) -> bytes:
    return marshal.dumps(fields)


_GOOD = encode_document(_document({"title": "x", "date": dt.date(2021, 6, 25)}))


@pytest.mark.parametrize(
    "payload",
    [
        '["a", "b", "presse", "x", {"$m": []}, [], 1, "d", "e"]',  # the JSON of before
        _stored(1, 2),
        _stored(1, "a", "b", "presse", "x", {}, (), 1, "d", "e", ()),  # another format
        _stored(2, "a", "b", "presse", "x", {}, (), 1, "d", "e", ()),  # lines as pairs
        _stored(3, "a", "b", "presse", "x", {}, (("t", 2),), 1, "d", "e", ()),
        _stored(3, "a", "b", "presse", "x", {}, {}, 1, "d", "e", (((), 0, "2021-01-01"),)),
        _stored(3, "a", "b", "presse", "x", {"d": None}, {}, 1, "d", "e", ((("d",), 9, 1),)),
        _stored(3, "a", "b", "presse", "x", {"d": ()}, {}, 1, "d", "e", ((("d", 0), 9, 1),)),
        _stored(3, "a", "b", "zeug", "x", {}, {}, 1, "d", "e", ()),
        _GOOD[:-5],
        b"",
    ],
)
def test_a_payload_of_another_shape_is_rejected(payload: str | bytes) -> None:
    with pytest.raises((ValueError, KeyError, TypeError, IndexError, EOFError)):
        decode_document(payload)  # type: ignore[arg-type]


def test_a_good_payload_passes_the_same_checks() -> None:
    assert decode_document(_GOOD).meta == {"title": "x", "date": dt.date(2021, 6, 25)}


def test_page_records_come_back_as_stored_and_unstorable_ones_not_at_all(
    tmp_path: Path,
) -> None:
    records = {
        "a/index.html": PageRecord(
            "f1", ("base.html", "page.html"), "d1", ("body:x", "head:y"), "s"
        ),
        "b/index.html": PageRecord("f2", ("base.html",), "d2", (), ""),
        # A name that holds the separator (no editor's file can): not stored, so the
        # page is made again rather than kept on a misread record.
        "c/index.html": PageRecord("f3", ("base.html",), "d3", ("body:a\0b",), ""),
    }
    cache = BuildCache(tmp_path)
    cache.store_build("out", records, {"model": "m"})
    cache.close()
    read = BuildCache(tmp_path).pages("out")
    assert read == {path: records[path] for path in ("a/index.html", "b/index.html")}


@pytest.mark.parametrize("extra", [(), tuple(f"head:n{i}" for i in range(8))])
def test_the_pages_reading_a_name_are_those_that_read_it_whole(
    tmp_path: Path, extra: tuple[str, ...]
) -> None:
    """A name is looked for in the stored text first (by SQLite for a few names, by
    Python for more): one that holds it only as part of another is not read."""
    records = {
        "a/index.html": PageRecord("f1", ("page.html",), "d1", ("body:a.md", "head:b.md"), "s"),
        "b/index.html": PageRecord("f2", ("page.html",), "d2", ("body:ba.md",), "s"),
        "c/index.html": PageRecord("f3", ("page.html",), "d3", ("summary:a.md.bak",), ""),
        "d/index.html": PageRecord("f4", ("page.html",), "d4", ("head:*", "body:a.md"), ""),
    }
    cache = BuildCache(tmp_path)
    cache.store_build("out", records, {"model": "m"})
    reading = cache.pages_reading("out", {"body:a.md", "summary:a.md", *extra})
    assert reading == {path: records[path] for path in ("a/index.html", "d/index.html")}
    assert cache.pages_reading("out", {"head:*", *extra}) == {
        "d/index.html": records["d/index.html"]
    }
    cache.close()


def test_the_documents_digests_follow_what_is_stored_and_forgotten(tmp_path: Path) -> None:
    cache = BuildCache(tmp_path)
    assert cache.document_digests() == {}
    doc = _document({"title": "x"})
    cache.store_documents([doc])
    assert cache.document_digests() == {doc.rel_path: doc.digest}
    edited = dataclasses.replace(doc, digest="neu")
    cache.store_documents([edited])
    assert cache.document_digests() == {doc.rel_path: "neu"}
    cache.forget_documents_except([])
    assert cache.document_digests() == {}
    cache.close()


def test_a_build_record_comes_back_as_stored_and_a_damaged_one_not_at_all(
    tmp_path: Path,
) -> None:
    # Issue 15: the record of a build is stored as marshal, with a checksum like every
    # row: one that does not pass it is no record, and the next build goes the whole way.
    value = {
        "model": "m",
        "bodies": {"body:a": "1", "summary:a": "2"},
        "indexed": True,
        "next_change": None,
        "left_out": [1, 0],
        "warnings": [["content/a.md", 3, "Hinweis", "warning"]],
    }
    cache = BuildCache(tmp_path)
    cache.store_build("out", {}, value)
    cache.close()
    assert BuildCache(tmp_path).last_build("out") == value
    db = sqlite3.connect(tmp_path / "cache.sqlite")
    with db:
        (payload,) = db.execute("SELECT payload FROM builds WHERE target = 'out'").fetchone()
        damaged = payload.replace(b"m", b"n", 1)
        db.execute("UPDATE builds SET payload = ? WHERE target = 'out'", (damaged,))
    db.close()
    assert BuildCache(tmp_path).last_build("out") is None


def _documents(count: int) -> list[Document]:
    base = _document({"title": "x"})
    return [
        dataclasses.replace(base, rel_path=f"content/presse/{n}.md", digest=f"d{n}")
        for n in range(count)
    ]


def _part_rows(directory: Path) -> dict[int, tuple[bytes, str]]:
    db = sqlite3.connect(directory / "cache.sqlite")
    rows = {n: (p, c) for n, p, c in db.execute("SELECT part, payload, checksum FROM documents")}
    db.close()
    return rows


def _in_part(number: int, documents: list[Document]) -> set[str]:
    return {
        doc.rel_path for doc in documents if cache_module._document_part(doc.rel_path) == number
    }


def test_documents_are_stored_in_parts_and_only_the_changed_part_again(tmp_path: Path) -> None:
    documents = _documents(100)
    cache = BuildCache(tmp_path)
    cache.store_documents(documents)
    cache.close()
    before = _part_rows(tmp_path)
    assert 1 < len(before) <= 32
    cache = BuildCache(tmp_path)
    assert {path: digest for path, (digest, _) in cache.documents().items()} == {
        doc.rel_path: doc.digest for doc in documents
    }
    edited = dataclasses.replace(documents[7], digest="neu")
    cache.store_documents([edited])
    cache.forget_documents_except(doc.rel_path for doc in documents[:-1])
    cache.close()
    after = _part_rows(tmp_path)
    touched = {cache_module._document_part(d.rel_path) for d in (edited, documents[-1])}
    assert {n for n in before if before[n] != after[n]} == touched
    read = BuildCache(tmp_path).documents()
    assert read[edited.rel_path] == (edited.digest, edited)
    assert documents[-1].rel_path not in read and len(read) == 99


@pytest.mark.parametrize("damage", ["payload", "number"])
def test_a_damaged_part_of_the_documents_is_not_used(damage: str, tmp_path: Path) -> None:
    documents = _documents(100)
    cache = BuildCache(tmp_path)
    cache.store_documents(documents)
    cache.close()
    rows = _part_rows(tmp_path)
    first, second = sorted(rows)[:2]
    db = sqlite3.connect(tmp_path / "cache.sqlite")
    if damage == "payload":  # a byte changed, still a value marshal reads; not the checksum
        payload = rows[first][0].replace(b"def", b"deg", 1)
        db.execute("UPDATE documents SET payload = ? WHERE part = ?", (payload, first))
    else:  # whole and checksummed, but under another part's number
        db.execute("DELETE FROM documents WHERE part = ?", (second,))
        db.execute("UPDATE documents SET part = ? WHERE part = ?", (second, first))
    db.commit()
    db.close()
    lost = _in_part(first, documents) | (
        _in_part(second, documents) if damage == "number" else set()
    )
    expected = {doc.rel_path for doc in documents} - lost
    cache = BuildCache(tmp_path)
    assert set(cache.document_digests()) == expected
    assert set(cache.documents()) == expected


def test_bodies_read_at_once_are_those_read_one_by_one_and_a_damaged_one_is_left_out(
    tmp_path: Path,
) -> None:
    """``bodies`` (a render worker's chunk, render/pages.py ``_prefetch_bodies``) gives
    what ``body`` gives for each key, and leaves out a damaged body, which ``body``
    refuses too, so that it is rendered again rather than published damaged."""
    cache = BuildCache(tmp_path)
    stored = {f"k{n}": {"html": f"<p>Text {n}</p>", "first_paragraph": ""} for n in range(700)}
    cache.store_bodies(stored)
    keys = [*stored, "unbekannt"]
    assert cache.bodies(keys) == {key: cache.body(key) for key in stored}
    db = sqlite3.connect(tmp_path / "cache.sqlite")
    with db:
        db.execute("UPDATE bodies SET html = '<p>Anders</p>' WHERE key = 'k600'")
    db.close()
    read = BuildCache(tmp_path)
    assert read.body("k600") is None
    assert set(read.bodies(keys)) == set(stored) - {"k600"}
