"""German compounds for the search index: "Straßenbeleuchtung" → "Straßen^beleuchtung".

Input: the HTML of a page as Pagefind is about to read it. Output: the same
HTML with a ``^`` between the parts of each compound in its text (never in
tags or attributes). Pagefind indexes a word written with punctuation inside
both whole and in parts (its "compound words" for ``kebab-case``), so
"Beleuchtung" and "Straße" then find "Straßenbeleuchtung"; on its own it only
finds words by their beginning. The published pages are not changed; the
search page's script removes the marks from excerpts and titles
(``templates/assets/js/search.js``).

A word is split where each part is a German word of pyspellchecker's
dictionary (339,000 word forms with frequencies, MIT licensed), allowing
the linking elements of German compounds ("Verkehr-s-daten",
"Straße-n-beleuchtung") and a dropped final "e"/"n" ("Schul(e)hof",
"Liefer(n)dienst"). Parts are at least four letters, so short words hidden
inside longer ones ("auf", "bau", "ort") do not make splits; of several splits
the one with the fewest parts and then the most frequent parts wins (Koehn &
Knight, "Empirical Methods for Compound Splitting", 2003).

Every word is split once: the splits are kept in the search cache folder
(``zerlegungen-….json``), and the dictionary is loaded only for words no
earlier build has seen. It is held as a trie (``Words``), made by a process
of its own (``load_words``).
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
from importlib import resources
from pathlib import Path

import marisa_trie

from kldigital_site.versions import version

MARK = "^"
# Shorter words are rarely compounds; "Bahnhof" (7) is, but its parts are short
# too, and splitting them would match "Bahn" in every "Bahnsteig" anyway.
MIN_WORD = 8
# Splitting costs the square of a word's length; German compounds of more than 40
# letters are curiosities ("Donaudampfschifffahrtsgesellschaftskapitän" has 42), and a
# 2 MB "word" in a hostile title must not hold up the build (tests/test_robustness.py).
MAX_WORD = 40
MIN_PART = 4
# Tokens remembered as marked (Splitter._tokens): about 100 bytes each, so at most
# about 20 MB however many different words a site has (the benchmark corpus has 448).
MAX_TOKENS = 200_000
MAX_PARTS = 4
# Linking elements between the parts of a German compound (Fugenelemente).
_LINKS = ("s", "es", "n", "en", "er", "e", "ens")
# Endings dropped at the end of a first part: Schule → Schul-hof, liefern → Liefer-dienst.
_DROPPED = ("e", "n", "en")
# The lookbehind finds the same words (a match can only begin where a run of letters
# begins) without trying every letter of a short word as a start.
_WORD = re.compile(rf"(?<![^\W\d_])([^\W\d_]{{{MIN_WORD},}})")
_TAG_OR_TEXT = re.compile(r"(<[^>]*>)")
# Left as they are: script and style, and elements whose text Pagefind takes as a
# filter or metadata value (data-pagefind-filter="thema", data-pagefind-meta="title";
# not "typ:Projekt", whose value is in the attribute): a topic must stay "Innenstadt".
# Published pages are minified (render/minify.py): the value may stand without quotes.
_RAW = re.compile(
    r"<(script|style)\b[^>]*>.*?</\1\s*>"
    r'|<(\w+)\b[^>]*\sdata-pagefind-(?:filter|meta)=(?:"[^":]*"|[^\s"\'=<>`:]+(?=[\s/>]))'
    r"[^>]*>.*?</\2\s*>",
    re.DOTALL | re.IGNORECASE,
)


class Words:
    """German word forms with their frequencies, in a MARISA trie (marisa-trie): about
    1.5 MB, where the same 339,000 words as a dict held about 40 MB of a cold build's
    peak memory at 10,000 items (issue 15). A lookup costs twice a dict's."""

    def __init__(self, trie: marisa_trie.RecordTrie) -> None:
        self._trie = trie

    def get(self, word: str, default: int = 0) -> int:
        found = self._trie.get(word)
        return int(found[0][0]) if found else default

    def __len__(self) -> int:
        return len(self._trie)


def dictionary_version() -> str:
    """Part of the search cache key: another dictionary may split differently."""
    return f"pyspellchecker-{version('pyspellchecker') or '-'}-{MIN_PART}-{MAX_PARTS}"


# One splitter, the last one asked for: ``serve`` keeps it between builds of its
# site, while a process that builds many sites (the tests) does not keep every
# site's splits and memo alive.
@functools.lru_cache(maxsize=1)
def load_splitter(cache_dir: Path | None) -> Splitter:
    """The splitter, with the splits of earlier builds from ``cache_dir``."""
    return Splitter(cache_dir / f"zerlegungen-{dictionary_version()}.json" if cache_dir else None)


@functools.cache
def load_words() -> Words:
    """pyspellchecker's German word forms with their frequencies, loaded once per process
    whatever the number of splitters.

    The trie is made by a Python process of its own (``_make_words``): reading the
    dictionary's JSON takes about 40 MB, which a process keeps once it has had them,
    and the build's must not. Making it takes half a second, so it is kept for the
    next process in the user's cache folder (``kept_words_file``), not the site's:
    that one may lie on a disk with no room to spare (tests/test_os_errors.py). Where
    nothing can be kept, it comes back through a temporary file.
    """
    kept = kept_words_file()
    if kept is not None:
        words = _read_words(kept)
        if words is None:  # not made yet, or damaged: made (again), atomically
            _make_words(kept)
            words = _read_words(kept)
        if words is not None:
            return words
    with tempfile.TemporaryDirectory(prefix="kldigital-woerter-") as scratch:
        path = Path(scratch) / "woerter.bin"
        _make_words(path)
        words = _read_words(path)
    if words is None:
        # No second process, or no room for the file: made here; only memory is lost.
        return Words(_words_trie())
    return words


def kept_words_file() -> Path | None:
    """Where the trie is kept between processes: ``$XDG_CACHE_HOME/kldigital-site/`` (or
    ``~/.cache/kldigital-site/``), named by the dictionary and trie library it is made
    from. None without a home folder."""
    try:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    except RuntimeError:  # no home folder to be found
        return None
    marisa = version("marisa-trie") or "-"
    return base / "kldigital-site" / f"woerter-{dictionary_version()}-marisa-{marisa}.bin"


def _read_words(path: Path) -> Words | None:
    trie = marisa_trie.RecordTrie(_FREQUENCY)
    try:
        trie.load(str(path))
    except (OSError, RuntimeError):  # missing, or damaged (marisa's reader says so)
        return None
    return Words(trie)


def _make_words(path: Path) -> None:
    # A failure leaves no file: the caller then makes the trie itself.
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        subprocess.run(
            [sys.executable, "-m", __name__, str(path)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
            timeout=120,
        )


_FREQUENCY = "<I"  # each word's frequency as one unsigned 32-bit number (the most: 4 million)


def _words_trie() -> marisa_trie.RecordTrie:
    source = resources.files("spellchecker.resources") / "de.json.gz"
    data: dict[str, int] = json.loads(gzip.decompress(source.read_bytes()))
    return marisa_trie.RecordTrie(
        _FREQUENCY,
        ((word, (count,)) for word, count in data.items() if len(word) >= MIN_PART - 1),
    )


def _write_words(path: Path) -> None:
    """The trie into ``path``, atomically (``python -m kldigital_site.search.compounds``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".woerter-")
    os.close(handle)
    try:
        _words_trie().save(temporary)
        os.replace(temporary, path)
    finally:
        Path(temporary).unlink(missing_ok=True)


class Splitter:
    """Splits German compounds into parts of the dictionary.

    Every word is split once: the splits are kept, and saved to ``splits_file``
    (``save``), so the dictionary, a quarter second to load, is loaded only for
    words no earlier build has seen.
    """

    def __init__(self, splits_file: Path | None, words: Words | None = None) -> None:
        self._file = splits_file
        self._words = words
        self._lock = threading.Lock()  # two Pagefind threads may share it (search/indexer.py)
        self._splits: dict[str, tuple[str, ...]] = self._read() if splits_file else {}
        self._new = False
        self._best: dict[tuple[str, int], tuple[tuple[str, ...], float] | None] = {}
        # Each word as marked ("Straßenbeleuchtung" → "Straßen^beleuchtung"), case as
        # written: pages repeat their words, so one dictionary lookup per word replaces
        # split()'s work (with _mark_text's split: 0.53 → 0.41 s CPU for the 1,026
        # pages of the 1,000-item benchmark, the bundles byte for byte the same).
        self._marked: dict[str, str] = {}
        # The same one level up: each text token between spaces that is long enough to
        # hold a word of MIN_WORD letters ("Straßenbeleuchtung," with its comma), as
        # marked. Looking tokens up replaces the regular expression's scan of every
        # letter, which was most of the marking (0.29 → 0.15 s CPU for the 1,000
        # pages of the 1,000-item benchmark, the same bytes): a word never spans a
        # space, so a token marked alone is marked as in its text.
        self._tokens: dict[str, str] = {}

    @property
    def words(self) -> Words:
        with self._lock:
            if self._words is None:
                self._words = load_words()
            return self._words

    def save(self) -> None:
        """Keep the splits for the next build (atomically; a failure only costs time)."""
        if self._file is None or not self._new:
            return
        with self._lock:
            data = json.dumps(self._splits, ensure_ascii=False, sort_keys=True)
            self._new = False
        try:
            self._file.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=self._file.parent, prefix=".zerlegungen-")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                out.write(data)
            os.replace(temporary, self._file)
        except OSError:
            pass

    def mark(self, html: bytes) -> bytes:
        """``html`` with ``MARK`` between the parts of every compound in its text."""
        text = html.decode("utf-8")
        pieces: list[str] = []
        position = 0
        for raw in _RAW.finditer(text):
            pieces.append(self._mark_text(text[position : raw.start()]))
            pieces.append(raw.group(0))
            position = raw.end()
        pieces.append(self._mark_text(text[position:]))
        return "".join(pieces).encode("utf-8")

    def split(self, word: str) -> list[str]:
        """The parts of ``word`` as written (case kept); ``[word]`` if it is no compound."""
        if len(word) > MAX_WORD:
            return [word]
        lower = word.lower()
        parts = self._splits.get(lower)
        if parts is None:
            found = self._compound_split(lower)
            parts = found[0] if found is not None else ()
            self._splits[lower] = parts
            self._new = True
        if not parts:
            return [word]
        result, start = [], 0
        for part in parts:
            result.append(word[start : start + len(part)])
            start += len(part)
        return result

    def _read(self) -> dict[str, tuple[str, ...]]:
        assert self._file is not None
        try:
            data = json.loads(self._file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}  # none yet, or damaged: the words are split again
        if not isinstance(data, dict):
            return {}
        return {
            str(word): tuple(str(part) for part in parts)
            for word, parts in data.items()
            if isinstance(parts, list) and "".join(map(str, parts)) in (word, "")
        }

    def _mark_text(self, text: str) -> str:
        pieces = _TAG_OR_TEXT.split(text)
        tokens = self._tokens
        for index in range(0, len(pieces), 2):  # even pieces are text, odd ones tags
            piece = pieces[index]
            if len(piece) >= MIN_WORD:
                pieces[index] = " ".join(
                    [
                        token
                        if len(token) < MIN_WORD
                        else (tokens.get(token) or self._mark_token(token))
                        for token in piece.split(" ")
                    ]
                )
        return "".join(pieces)

    def _mark_token(self, token: str) -> str:
        # Split, not sub with a function: no call back into Python per word.
        words = _WORD.split(token)  # odd items are the words
        if len(words) == 1:
            result = token  # the key itself: an unmarked token costs no second string
        else:
            marked = self._marked
            words[1::2] = [marked.get(w) or self._mark_word(w) for w in words[1::2]]
            result = "".join(words)
        if len(self._tokens) >= MAX_TOKENS:
            self._tokens.clear()  # a bound on memory, only time is lost
        self._tokens[token] = result
        return result

    def _mark_word(self, word: str) -> str:
        marked = self._marked[word] = MARK.join(self.split(word))
        return marked

    def _compound_split(self, word: str) -> tuple[tuple[str, ...], float] | None:
        """The best split into two or more parts, even of a word the dictionary knows
        whole ("Straßenbeleuchtung" is in it): the parts are what the index needs."""
        candidates = []
        for cut in range(MIN_PART, len(word) - MIN_PART + 1):
            head = _head_frequency(word[:cut], self.words)
            rest = self._best_split(word[cut:], MAX_PARTS - 1) if head else None
            if rest is not None:
                parts = (word[:cut], *rest[0])
                score = (math.log(head) + rest[1] * (len(parts) - 1)) / len(parts)
                candidates.append((len(parts), -score, parts))
        if not candidates:
            return None
        _, score, parts = min(candidates)
        return parts, -score

    def _best_split(self, word: str, parts_left: int) -> tuple[tuple[str, ...], float] | None:
        """The best split of ``word`` into at most ``parts_left`` parts, with its score
        (the log of the geometric mean of the parts' frequencies)."""
        key = (word, parts_left)
        if key in self._best:
            return self._best[key]
        words = self.words
        candidates: list[tuple[int, float, tuple[str, ...]]] = []
        frequency = words.get(word, 0)
        if frequency and len(word) >= MIN_PART:
            candidates.append((1, math.log(frequency), (word,)))
        if parts_left > 1:
            for cut in range(MIN_PART, len(word) - MIN_PART + 1):
                head = _head_frequency(word[:cut], words)
                if not head:
                    continue
                rest = self._best_split(word[cut:], parts_left - 1)
                if rest is None:
                    continue
                parts = (word[:cut], *rest[0])
                score = (math.log(head) + rest[1] * (len(parts) - 1)) / len(parts)
                candidates.append((len(parts), score, parts))
        result = None
        if candidates:
            _, score, parts = min(candidates, key=lambda c: (c[0], -c[1]))
            result = (parts, score)
        self._best[key] = result
        return result


def _head_frequency(head: str, words: Words) -> int:
    """How common a first (or middle) part is, with its linking element or dropped ending."""
    frequency = words.get(head, 0)
    if frequency:
        return frequency
    for link in _LINKS:
        stem = head[: -len(link)]
        if head.endswith(link) and len(stem) >= MIN_PART - 1:
            frequency = words.get(stem, 0)
            if frequency:
                return frequency
    for ending in _DROPPED:
        frequency = words.get(head + ending, 0)
        if frequency:
            return frequency
    return 0


if __name__ == "__main__":
    _write_words(Path(sys.argv[1]))
