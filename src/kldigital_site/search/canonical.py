"""Pagefind's bundle → the same bundle in a canonical, byte-stable form (for search/client.py).

Input: the bundle files by path within ``pagefind/`` as Pagefind 1.5 wrote
them (``pagefind-entry.json``, ``pagefind.<lang>_<hash>.pf_meta``,
``filter/<lang>_<hash>.pf_filter``, fragments, word index, scripts).
Output: the same files with the filter chunks, the meta file naming them and
the entry file naming the meta file rewritten so that the same pages give the
same bytes in every run; every other file is passed through unchanged. Or
``UnexpectedBundle`` when the files are not in the format described below, so
a Pagefind upgrade that changes it fails the build instead of shipping a
search that the browser cannot read.

Why: Pagefind keeps filters in hash maps with a random seed per process
(``pagefind/src/index/mod.rs``: "TODO: Change filter indexes to BTree to give
them a stable hash"), so the order of the values in a filter chunk, and with
it the chunk's hashed name, the order of the filters in the meta file, the
meta file's hashed name and the entry file change from run to run. The
browser does not care about either order: its engine (``pagefind_web``, e.g.
``filter_index.rs`` and ``metadata.rs``) reads both lists into hash maps, and
the file names are only addresses that it looks up in the meta and entry file
(no checksum is verified). So sorting them gives the same search, with the
order Pagefind itself would write with a BTree.

Formats (Pagefind 1.5.2; read from its source and checked on real files).
Each ``.pf_*`` file is gzip of ``b"pagefind_dcd"`` + CBOR as minicbor writes
it: definite-length arrays, definite-length text strings, integers in their
shortest form (negative ones only in the word index); a struct is an array of
its fields.

- filter chunk: ``[filter name, [[value, [page number, ...]], ...]]``
- meta file: ``[version, pages, word index chunks, [[filter name, filter
  chunk id], ...], [[sort key, [page number, ...]], ...], meta fields]``
- ``pagefind-entry.json`` (compact serde JSON): ``{"version": …, "languages":
  {"de": {"hash": <meta id>, "wasm": …, "page_count": …}}, …}``

An id is ``<lang>_`` + the start of Pagefind's SHA-1 hex of the uncompressed
CBOR (7 characters for a filter chunk, ``len(lang) + 8`` for a meta file).
Pagefind writes each byte's hex digits without zero padding (``{:x?}``); the
ids here follow the same rule, so an id still names its content the way
Pagefind would have named it.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import struct
import zlib
from collections.abc import Mapping
from typing import TypeAlias

SIGNATURE = b"pagefind_dcd"
ENTRY_FILE = "pagefind-entry.json"
_FILTER_DIR = "filter/"
_FILTER_SUFFIX = ".pf_filter"
_META_PREFIX = "pagefind."
_META_SUFFIX = ".pf_meta"
# How many hex digits an id keeps (pagefind/src/index/mod.rs): a filter chunk
# "<lang>_<hex>"[0..=len(lang) + 7], that is 7; the meta file <lang>_ +
# <hex>[0..=len(lang) + 7], that is len(lang) + 8.
_FILTER_ID_DIGITS = 7
_META_FILTERS = 3  # position of the filter list in the meta file
_META_SORTS = 4  # position of the sort list
# Pagefind's gzip header (flate2, best compression): no name, no time, "best"
# and "unknown OS". Written by hand, not by gzip.compress, whose OS byte
# depends on the platform (3 on Unix), so the bytes are the same everywhere.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"

# The CBOR subset Pagefind's files use (see the module docstring).
Cbor: TypeAlias = int | str | list["Cbor"]


class UnexpectedBundle(ValueError):
    """Pagefind's files are not in the format this module knows."""


def canonical_bundle(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """The bundle with sorted, content-named filter chunks and the meta and entry files to match."""
    entry_data = _required(files, ENTRY_FILE)
    entry = _load_entry(entry_data)
    languages = entry.get("languages")
    if not isinstance(languages, dict) or not languages:
        raise UnexpectedBundle(f"{ENTRY_FILE}: no languages")
    result = dict(files)
    referenced_filters: set[str] = set()
    for language in sorted(languages):
        info = languages[language]
        if not isinstance(info, dict) or not isinstance(info.get("hash"), str):
            raise UnexpectedBundle(f"{ENTRY_FILE}: language {language!r} without meta hash")
        meta_path = f"{_META_PREFIX}{info['hash']}{_META_SUFFIX}"
        meta = _list(_read_cbor(_required(files, meta_path), meta_path), meta_path)
        if len(meta) <= _META_SORTS:
            raise UnexpectedBundle(f"{meta_path}: {len(meta)} fields, expected at least 5")
        ids: dict[str, str] = {}  # filter chunk id → filter name, for the new ids
        filters: dict[str, bytes] = {}  # filter name → canonical CBOR
        for ref in _list(meta[_META_FILTERS], meta_path):
            name, old_id = _strings(ref, 2, meta_path)
            if name in filters:
                raise UnexpectedBundle(f"{meta_path}: filter {name!r} named twice")
            path = f"{_FILTER_DIR}{old_id}{_FILTER_SUFFIX}"
            filters[name] = _canonical_filter(_required(files, path), path, name)
            referenced_filters.add(path)
            del result[path]
        refs: list[Cbor] = []
        for name in sorted(filters):
            new_id = _unique_id(language, filters[name], _FILTER_ID_DIGITS, ids)
            ids[new_id] = name
            result[f"{_FILTER_DIR}{new_id}{_FILTER_SUFFIX}"] = _pack(filters[name])
            refs.append([name, new_id])
        meta[_META_FILTERS] = refs
        # Sort orders are another hash map in Pagefind (sort key → pages) and
        # one in the browser; sorted by key, like the filters.
        meta[_META_SORTS] = sorted(
            _list(meta[_META_SORTS], meta_path), key=lambda s: _sort_key(s, meta_path)
        )
        body = encode(meta)
        meta_id = f"{language}_{pagefind_hash(body)[: len(language) + 8]}"
        del result[meta_path]
        result[f"{_META_PREFIX}{meta_id}{_META_SUFFIX}"] = _pack(body)
        info["hash"] = meta_id
    unreferenced = {p for p in files if p.startswith(_FILTER_DIR)} - referenced_filters
    if unreferenced:
        raise UnexpectedBundle(f"filter chunks that no meta file names: {sorted(unreferenced)}")
    # serde writes the languages from a hash map too: one order for several.
    entry["languages"] = {language: languages[language] for language in sorted(languages)}
    result[ENTRY_FILE] = _dump_entry(entry)
    return result


def pagefind_hash(data: bytes) -> str:
    """Pagefind's ``full_hash``: SHA-1 with each byte as hex without zero padding."""
    return "".join(f"{byte:x}" for byte in hashlib.sha1(data).digest())


def _unique_id(language: str, body: bytes, digits: int, taken: Mapping[str, str]) -> str:
    """``<lang>_`` + the hash's first ``digits`` characters, longer while the id is taken.

    Like Pagefind, which extends a colliding id one character at a time;
    the chunks come in sorted order here, so the outcome is stable too.
    """
    full = pagefind_hash(body)
    for length in range(digits, len(full) + 1):
        candidate = f"{language}_{full[:length]}"
        if candidate not in taken:
            return candidate
    raise UnexpectedBundle(f"two filter chunks with the same content: {language}_{full}")


def _canonical_filter(data: bytes, path: str, name: str) -> bytes:
    """The filter chunk's CBOR with its values sorted (code point order, as a Rust BTreeMap)."""
    chunk = _list(_read_cbor(data, path), path)
    if len(chunk) != 2 or chunk[0] != name:
        raise UnexpectedBundle(f"{path}: not the chunk of filter {name!r}")
    values = _list(chunk[1], path)
    keyed = []
    for value in values:
        pair = _list(value, path)
        if len(pair) != 2 or not isinstance(pair[0], str):
            raise UnexpectedBundle(f"{path}: a value is not [text, pages]")
        keyed.append((pair[0], value))
    if len({key for key, _ in keyed}) != len(keyed):
        raise UnexpectedBundle(f"{path}: a filter value occurs twice")
    return encode([name, [value for _, value in sorted(keyed, key=lambda kv: kv[0])]])


def _sort_key(item: Cbor, path: str) -> str:
    pair = _list(item, path)
    if not pair or not isinstance(pair[0], str):
        raise UnexpectedBundle(f"{path}: a sort order without a key")
    return pair[0]


# --- entry file ------------------------------------------------------------------


def _load_entry(data: bytes) -> dict[str, object]:
    try:
        entry = json.loads(data)
    except ValueError as exc:
        raise UnexpectedBundle(f"{ENTRY_FILE}: {exc}") from exc
    if not isinstance(entry, dict):
        raise UnexpectedBundle(f"{ENTRY_FILE}: not an object")
    # Written back in the same compact form, so only the meta ids change:
    # make sure the form is the one this module writes.
    if _dump_entry(entry) != data:
        raise UnexpectedBundle(f"{ENTRY_FILE}: not in Pagefind's compact JSON form")
    return entry


def _dump_entry(entry: Mapping[str, object]) -> bytes:
    """serde_json's compact form: no spaces, non-ASCII characters as they are."""
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --- files and CBOR --------------------------------------------------------------


def _required(files: Mapping[str, bytes], path: str) -> bytes:
    try:
        return files[path]
    except KeyError:
        raise UnexpectedBundle(f"{path} is missing") from None


def _read_cbor(data: bytes, path: str) -> Cbor:
    """Unpack a ``.pf_*`` file; its CBOR must be exactly what ``encode`` writes for it."""
    try:
        raw = gzip.decompress(data)  # checks CRC and length: a truncated file fails
    except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
        raise UnexpectedBundle(f"{path}: not gzip ({exc})") from exc
    if not raw.startswith(SIGNATURE):
        raise UnexpectedBundle(f"{path}: no {SIGNATURE.decode()} signature")
    body = raw[len(SIGNATURE) :]
    value = decode(body, path)
    # Re-encoding must give Pagefind's own bytes back; otherwise the format has
    # changed and what this module writes might not be what the browser reads.
    if encode(value) != body:
        raise UnexpectedBundle(f"{path}: CBOR not in the form Pagefind 1.5 writes")
    return value


def _pack(body: bytes) -> bytes:
    """gzip of signature + body with Pagefind's fixed header (RFC 1952)."""
    raw = SIGNATURE + body
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)  # raw deflate, no zlib header
    stream = deflate.compress(raw) + deflate.flush()
    return _GZIP_HEADER + stream + struct.pack("<II", zlib.crc32(raw), len(raw) & 0xFFFFFFFF)


def _list(value: Cbor, path: str) -> list[Cbor]:
    if not isinstance(value, list):
        raise UnexpectedBundle(f"{path}: expected an array, found {type(value).__name__}")
    return value


def _strings(value: Cbor, count: int, path: str) -> list[str]:
    items = _list(value, path)
    if len(items) != count or not all(isinstance(item, str) for item in items):
        raise UnexpectedBundle(f"{path}: expected {count} text strings")
    return [str(item) for item in items]


_UINT, _NINT, _TEXT, _ARRAY = 0, 1, 3, 4  # CBOR major types used by Pagefind's files


def encode(value: Cbor) -> bytes:
    """CBOR as minicbor writes it: shortest heads, definite lengths."""
    out = bytearray()
    _encode(value, out)
    return bytes(out)


def _encode(value: Cbor, out: bytearray) -> None:
    if isinstance(value, bool):  # a bool is an int to Python, but not to CBOR
        raise TypeError("bool is not part of Pagefind's CBOR")
    if isinstance(value, int):
        if value < 0:
            _head(_NINT, -1 - value, out)
        else:
            _head(_UINT, value, out)
    elif isinstance(value, str):
        data = value.encode("utf-8")
        _head(_TEXT, len(data), out)
        out += data
    else:
        _head(_ARRAY, len(value), out)
        for item in value:
            _encode(item, out)


def _head(major: int, argument: int, out: bytearray) -> None:
    if argument < 24:
        out.append(major << 5 | argument)
        return
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if argument < 1 << (8 * size):
            out.append(major << 5 | info)
            out += argument.to_bytes(size, "big")
            return
    raise ValueError(f"integer too large for CBOR: {argument}")


def decode(data: bytes, path: str = "CBOR") -> Cbor:
    """Pagefind's CBOR subset; anything else (maps, floats, indefinite lengths …) is refused."""
    value, end = _decode(data, 0, path, 0)
    if end != len(data):
        raise UnexpectedBundle(f"{path}: {len(data) - end} bytes after the CBOR value")
    return value


_MAX_DEPTH = 16  # Pagefind's files nest 4 deep; bounds the recursion on damaged data


def _decode(data: bytes, pos: int, path: str, depth: int) -> tuple[Cbor, int]:
    if depth > _MAX_DEPTH:
        raise UnexpectedBundle(f"{path}: CBOR nested too deeply")
    if pos >= len(data):
        raise UnexpectedBundle(f"{path}: CBOR ends early")
    major, info = data[pos] >> 5, data[pos] & 0x1F
    pos += 1
    if info < 24:
        argument = info
    elif info <= 27:
        size = 1 << (info - 24)
        if pos + size > len(data):
            raise UnexpectedBundle(f"{path}: CBOR ends early")
        argument = int.from_bytes(data[pos : pos + size], "big")
        pos += size
    else:  # 28-30 are reserved, 31 is an indefinite length: the browser refuses both
        raise UnexpectedBundle(f"{path}: unsupported CBOR head {data[pos - 1]:#04x}")
    if major == _UINT:
        return argument, pos
    if major == _NINT:
        return -1 - argument, pos
    if major == _TEXT:
        end = pos + argument
        if end > len(data):
            raise UnexpectedBundle(f"{path}: CBOR ends early")
        try:
            return data[pos:end].decode("utf-8"), end
        except UnicodeDecodeError as exc:
            raise UnexpectedBundle(f"{path}: text is not UTF-8") from exc
    if major == _ARRAY:
        if argument > len(data) - pos:  # every item takes at least one byte
            raise UnexpectedBundle(f"{path}: CBOR ends early")
        items: list[Cbor] = []
        for _ in range(argument):
            item, pos = _decode(data, pos, path, depth + 1)
            items.append(item)
        return items, pos
    raise UnexpectedBundle(f"{path}: unsupported CBOR major type {major}")
