"""search/compounds.py: German compounds split for the search index (issue 18)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from kldigital_site.search import compounds
from kldigital_site.search.compounds import (
    MARK,
    Splitter,
    dictionary_version,
    kept_words_file,
    load_words,
)


@pytest.fixture(scope="module")
def splitter() -> Splitter:
    return Splitter(None, load_words())


@pytest.mark.parametrize(
    ("word", "parts"),
    [
        ("Straßenbeleuchtung", ["Straßen", "beleuchtung"]),  # known whole, split anyway
        ("Verkehrsdaten", ["Verkehrs", "daten"]),  # linking "s"
        ("Lieferdienst", ["Liefer", "dienst"]),  # liefer(n): dropped ending
        ("Bürgerbeteiligung", ["Bürger", "beteiligung"]),
        ("Baumkataster", ["Baum", "kataster"]),
        ("Verwaltung", ["Verwaltung"]),  # no compound
        ("Digitalisierung", ["Digitalisierung"]),
        ("Kaffee", ["Kaffee"]),  # too short to be split
    ],
)
def test_compounds_split_into_dictionary_words(
    splitter: Splitter, word: str, parts: list[str]
) -> None:
    assert splitter.split(word) == parts


def test_only_text_is_marked_never_tags_filters_or_metadata(splitter: Splitter) -> None:
    html = (
        '<article data-pagefind-body data-pagefind-meta="typ:Projekt">'
        '<h1 data-pagefind-meta="title">Intelligente Straßenbeleuchtung</h1>'
        '<p class="Straßenbeleuchtung">Die Straßenbeleuchtung am '
        '<a href="/themen/innenstadt/" data-pagefind-filter="thema">Innenstadt</a>.</p>'
        "<script>const Straßenbeleuchtung = 1;</script></article>"
    )
    marked = splitter.mark(html.encode()).decode()
    assert marked.count(f"Straßen{MARK}beleuchtung") == 1  # in the text only
    assert '<h1 data-pagefind-meta="title">Intelligente Straßenbeleuchtung</h1>' in marked
    assert 'class="Straßenbeleuchtung"' in marked
    assert ">Innenstadt</a>" in marked  # a topic stays the topic it is
    assert "const Straßenbeleuchtung" in marked
    assert marked.replace(MARK, "") == html
    # The same page minified, as it is published: attribute values without quotes.
    minified = (
        "<h1 data-pagefind-meta=title>Intelligente Straßenbeleuchtung</h1>"
        "<a href=/themen/innenstadt/ data-pagefind-filter=thema>Innenstadtbeleuchtung</a>"
        "<p data-pagefind-meta=typ:Projekt>Straßenbeleuchtung</p>"
    )
    marked = splitter.mark(minified.encode()).decode()
    assert "meta=title>Intelligente Straßenbeleuchtung</h1>" in marked
    assert "filter=thema>Innenstadtbeleuchtung</a>" in marked
    assert f"<p data-pagefind-meta=typ:Projekt>Straßen{MARK}beleuchtung</p>" in marked


def test_splits_are_kept_so_the_dictionary_is_loaded_once(tmp_path: Path) -> None:
    store = tmp_path / f"zerlegungen-{dictionary_version()}.json"
    first = Splitter(store, load_words())
    assert first.split("Straßenbeleuchtung") == ["Straßen", "beleuchtung"]
    first.save()
    assert json.loads(store.read_text(encoding="utf-8"))["straßenbeleuchtung"] == [
        "straßen",
        "beleuchtung",
    ]
    # A later build splits a word it has seen without loading the dictionary.
    later = Splitter(store)
    assert later.split("Straßenbeleuchtung") == ["Straßen", "beleuchtung"]
    assert later._words is None
    # A damaged file only costs time.
    store.write_text("{kaputt", encoding="utf-8")
    assert Splitter(store, load_words()).split("Verkehrsdaten") == ["Verkehrs", "daten"]


def test_the_dictionary_holds_every_word_with_its_frequency() -> None:
    """The trie, made by a process of its own, holds every word of pyspellchecker's
    dictionary with its frequency, and no other."""
    import gzip
    from importlib import resources

    source = resources.files("spellchecker.resources") / "de.json.gz"
    expected = json.loads(gzip.decompress(source.read_bytes()))
    words = load_words()
    wanted = {word: count for word, count in expected.items() if len(word) >= 3}
    assert len(words) == len(wanted)
    assert all(words.get(word) == count for word, count in wanted.items())
    assert words.get("xyzzyquux") == 0


def test_the_dictionary_is_kept_for_the_next_process_outside_the_site(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Making the trie costs half a second, so it is kept in the user's cache folder for
    the next build; a damaged one is made again rather than trusted."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "nutzer"))
    load_words.cache_clear()
    try:
        assert load_words().get("straße") > 0
        kept = kept_words_file()
        assert kept is not None and kept.is_relative_to(tmp_path / "nutzer" / "kldigital-site")
        assert kept.stat().st_size > 100_000
        kept.write_bytes(b"kaputt")
        load_words.cache_clear()
        assert load_words().get("straße") > 0
        assert kept.stat().st_size > 100_000  # made anew, not left damaged
    finally:
        load_words.cache_clear()


def test_an_endless_word_is_left_whole_at_once(splitter: Splitter) -> None:
    # A 2 MB title (tests/test_robustness.py) once took the build down.
    started = time.perf_counter()
    html = ("<p>" + "Straßenbeleuchtung" * 100_000 + "</p>").encode()
    assert splitter.mark(html) == html
    assert time.perf_counter() - started < 5


def test_words_are_marked_whatever_stands_around_them(splitter: Splitter) -> None:
    """Marks are looked up per token between spaces (search/compounds.py): punctuation,
    several spaces, line breaks and no-break spaces around a word change nothing, and
    the same token marks alike on every page."""
    text = (
        "<p>„Straßenbeleuchtung“,  (Verkehrsdaten)\nBürgerbeteiligung.Straßenbeleuchtung "
        "Verwaltung\u00a0Verkehrsdaten 2024-Lieferdienst</p><p>Straßenbeleuchtung“,</p>"
    )
    marked = splitter.mark(text.encode()).decode()
    assert marked == (
        f"<p>„Straßen{MARK}beleuchtung“,  (Verkehrs{MARK}daten)\nBürger{MARK}beteiligung."
        f"Straßen{MARK}beleuchtung Verwaltung\u00a0Verkehrs{MARK}daten 2024-Liefer{MARK}dienst"
        f"</p><p>Straßen{MARK}beleuchtung“,</p>"
    )
    assert splitter.mark(text.encode()).decode() == marked


def test_the_remembered_tokens_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    """However many different words a site has, the splitter remembers at most
    MAX_TOKENS tokens, and marks the same after forgetting them."""
    monkeypatch.setattr(compounds, "MAX_TOKENS", 3)
    splitter = Splitter(None, load_words())
    text = "<p>Straßenbeleuchtung Verkehrsdaten Lieferdienst Bürgerbeteiligung Verwaltung</p>"
    first = splitter.mark(text.encode())
    assert len(splitter._tokens) <= 3
    assert splitter.mark(text.encode()) == first
    assert first.decode().count(MARK) == 4
