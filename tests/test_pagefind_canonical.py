"""The canonical Pagefind bundle (search/canonical.py).

Synthetic bundles show what is rewritten and how; files from a real Pagefind
run show that the CBOR written here is byte for byte the form Pagefind writes
(and so the form the browser reads). That two cold builds give the same
pagefind/ folder is checked in test_search.py; that the browser still finds
and filters with these files, in test_search_browser.py.
"""

from __future__ import annotations

import gzip
import itertools
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from kldigital_site.search.canonical import (
    ENTRY_FILE,
    SIGNATURE,
    Cbor,
    UnexpectedBundle,
    canonical_bundle,
    decode,
    encode,
    pagefind_hash,
)
from tests.conftest import build_site_at, copy_fixture_site

ENTRY_TAIL = ',"wasm":"de","page_count":3}},"include_characters":["_","‿"]}'
THEMA: list[Cbor] = [["Verkehr", [1, 2]], ["Bürger", [0]], ["Energie", [2]], ["Ärzte", [1]]]
TYP: list[Cbor] = [["Seite", [2]], ["Projekt", [0, 1]]]


def pack(value: Cbor) -> bytes:
    return gzip.compress(SIGNATURE + encode(value))


def unpack(data: bytes) -> Cbor:
    raw = gzip.decompress(data)
    assert raw.startswith(SIGNATURE)
    return decode(raw[len(SIGNATURE) :])


def bundle(thema: list[Cbor], typ: list[Cbor], order: tuple[str, ...]) -> dict[str, bytes]:
    """A bundle as Pagefind writes it, with the values and filters in the given order."""
    chunks: dict[str, Cbor] = {"thema": ["thema", thema], "typ": ["typ", typ]}
    ids = {name: f"de_{name}" for name in chunks}
    files = {f"filter/{ids[name]}.pf_filter": pack(chunks[name]) for name in chunks}
    meta: Cbor = [
        "1.5.2",
        [["de_frag0", 10], ["de_frag1", 20], ["de_frag2", 30]],
        [["a", "z", "de_index0"]],
        [[name, ids[name]] for name in order],
        [["zeit", [2, 0, 1]], ["datum", [0, 1, 2]]],
        ["title", "typ"],
    ]
    files["pagefind.de_meta000000.pf_meta"] = pack(meta)
    files[ENTRY_FILE] = (
        '{"version":"1.5.2","languages":{"de":{"hash":"de_meta000000"' + ENTRY_TAIL
    ).encode()
    files["pagefind.js"] = b"// engine"
    files["fragment/de_frag0.pf_fragment"] = b"fragment bytes, passed through"
    return files


def meta_of(files: dict[str, bytes]) -> tuple[str, list[Cbor], dict[str, str]]:
    """The meta id, the meta file's fields and its filters (name → chunk id)."""
    entry = json.loads(files[ENTRY_FILE])
    meta_id = entry["languages"]["de"]["hash"]
    meta = unpack(files[f"pagefind.{meta_id}.pf_meta"])
    assert isinstance(meta, list) and isinstance(meta[3], list)
    filters = {}
    for ref in meta[3]:
        assert isinstance(ref, list) and len(ref) == 2
        filters[str(ref[0])] = str(ref[1])
    return meta_id, meta, filters


def test_filters_are_sorted_and_named_by_their_content() -> None:
    result = canonical_bundle(bundle(THEMA, TYP, ("typ", "thema")))
    meta_id, meta, filters = meta_of(result)
    assert meta[3] == [["thema", filters["thema"]], ["typ", filters["typ"]]], "filters by name"
    for name, chunk_id in filters.items():
        data = result[f"filter/{chunk_id}.pf_filter"]
        chunk = unpack(data)
        assert chunk_id == "de_" + pagefind_hash(encode(chunk))[:7], "Pagefind's naming rule"
        assert data[:10] == bytes.fromhex("1f8b08000000000002ff"), "Pagefind's gzip header"
        assert isinstance(chunk, list) and chunk[0] == name
    assert unpack(result[f"filter/{filters['thema']}.pf_filter"]) == [
        "thema",
        [["Bürger", [0]], ["Energie", [2]], ["Verkehr", [1, 2]], ["Ärzte", [1]]],
    ], "values in code point order, as a Rust BTreeMap keeps them; pages untouched"
    assert meta[4] == [["datum", [0, 1, 2]], ["zeit", [2, 0, 1]]], "sort orders by key"
    assert meta[:3] == [
        "1.5.2",
        [["de_frag0", 10], ["de_frag1", 20], ["de_frag2", 30]],
        [["a", "z", "de_index0"]],
    ]
    assert meta[5] == ["title", "typ"]
    assert meta_id == "de_" + pagefind_hash(encode(meta))[:10]
    assert (
        result[ENTRY_FILE]
        == ('{"version":"1.5.2","languages":{"de":{"hash":"' + meta_id + '"' + ENTRY_TAIL).encode()
    ), "only the meta id changes"
    assert result["pagefind.js"] == b"// engine"
    assert result["fragment/de_frag0.pf_fragment"] == b"fragment bytes, passed through"
    assert sorted(result) == sorted(
        [ENTRY_FILE, "pagefind.js", "fragment/de_frag0.pf_fragment"]
        + [f"pagefind.{meta_id}.pf_meta"]
        + [f"filter/{chunk_id}.pf_filter" for chunk_id in filters.values()]
    ), "the old filter and meta files are gone"


def test_any_order_gives_the_same_bytes() -> None:
    results = {
        tuple(sorted(canonical_bundle(bundle(list(thema), list(typ), order)).items()))
        for thema in itertools.permutations(THEMA)
        for typ in itertools.permutations(TYP)
        for order in (("typ", "thema"), ("thema", "typ"))
    }
    assert len(results) == 1
    once = dict(next(iter(results)))
    assert canonical_bundle(once) == once, "canonical already: nothing changes"


def test_cbor_is_written_as_pagefind_writes_it(tmp_path: Path) -> None:
    """Decoding and encoding every CBOR file of a real bundle gives its exact bytes back."""
    root = copy_fixture_site("full", tmp_path / "site")
    build_site_at(root, output=tmp_path / "out")
    bundle_dir = tmp_path / "out" / "pagefind"
    checked = 0
    for pattern in ("*.pf_meta", "filter/*.pf_filter", "index/*.pf_index"):
        for path in bundle_dir.glob(pattern):
            body = gzip.decompress(path.read_bytes())[len(SIGNATURE) :]
            assert encode(decode(body)) == body, path
            assert path.name.split(".")[-2].startswith("de_")
            checked += 1
    assert checked >= 5  # meta, word index and the filters typ, thema, smart_city


TYP_FILE = "filter/de_typ.pf_filter"
Damage = Callable[[dict[str, bytes]], object]


def put(path: str, data: bytes) -> Damage:
    return lambda files: files.update({path: data})


def cbor_file(raw: bytes) -> bytes:
    return gzip.compress(SIGNATURE + raw)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (put(ENTRY_FILE, b""), "pagefind-entry.json"),  # what Pagefind's write race left
        (lambda f: f.pop(ENTRY_FILE), "pagefind-entry.json is missing"),
        (put(ENTRY_FILE, b'{"languages":{}}'), "no languages"),
        (lambda f: f.update({ENTRY_FILE: f[ENTRY_FILE].replace(b",", b", ")}), "compact"),
        (lambda f: f.pop("pagefind.de_meta000000.pf_meta"), "pf_meta is missing"),
        (put("filter/de_extra.pf_filter", pack(["x", []])), "no meta file names"),
        (put(TYP_FILE, b"\x1f\x8b"), "not gzip"),
        (put(TYP_FILE, pack(["typ", []])[:-4]), "not gzip"),  # truncated
        (put(TYP_FILE, gzip.compress(b"x")), "signature"),
        (put(TYP_FILE, pack(["thema", []])), "not the chunk"),
        # an indefinite-length array (0x9f … 0xff): the browser refuses it
        (put(TYP_FILE, cbor_file(b"\x9f\xff")), "unsupported CBOR head"),
        # a map (0xa0), which Pagefind does not write
        (put(TYP_FILE, cbor_file(b"\xa0")), "major type 5"),
        # ["typ", [["a", [1]]]] with the 1 in a two-byte head: not Pagefind's form
        (put(TYP_FILE, cbor_file(b"\x82\x63typ\x81\x82\x61a\x81\x18\x01")), "not in the form"),
    ],
)
def test_an_unexpected_bundle_is_refused(damage: Damage, message: str) -> None:
    files = bundle(THEMA, TYP, ("thema", "typ"))
    damage(files)
    with pytest.raises(UnexpectedBundle, match=message):
        canonical_bundle(files)


def test_decode_refuses_truncated_and_trailing_data() -> None:
    data = encode(["thema", [["Verkehr", [1, 300, 70000]]]])
    assert decode(data) == ["thema", [["Verkehr", [1, 300, 70000]]]]
    for end in range(len(data)):
        with pytest.raises(UnexpectedBundle):
            decode(data[:end])
    with pytest.raises(UnexpectedBundle, match="after the CBOR value"):
        decode(data + b"\x00")
