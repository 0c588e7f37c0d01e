"""Issue 7: broken and hostile input always ends in a clear error, never a traceback or a hang.

Property-based tests (hypothesis) write generated front matter, Markdown bodies,
data files, settings and raw bytes into a copy of the minimal fixture site and
build it through the command line, in-process. Every build must either succeed
or fail with exit code 1 and nothing but ``path:line: message`` lines, each
naming a file of the site. A watchdog (``faulthandler``) kills the test run
with a stack dump if one build takes longer than ``BUILD_TIMEOUT``, so a hang
fails loudly instead of stalling ``make test``.

Around them: the cases that need a size or a clock — an alias bomb fails in
under 2 s, a 10 MB body builds, Markdown constructs that made Python-Markdown
quadratic render in bounded time (``kldigital_site.markdown.limits``), and the bounded
renderer gives exactly upstream's HTML for everything within its bounds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import faulthandler
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import markdown
import pytest
import yaml
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, assume, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from kldigital_site.cli import cli
from kldigital_site.markdown import limits as mdlimits
from kldigital_site.markdown.renderer import MarkdownRenderer
from tests.conftest import TEMPLATES, copy_fixture_site

BUILD_TIMEOUT = 60.0  # seconds for one small site; a healthy build takes well under 1 s
NOW = "2026-11-26T12:00"
# A problem line: a file of the site, optionally its line, then the message.
PROBLEM = re.compile(r"^(content/[^:\n]+?)(?::(\d+))?: (?:Warnung: )?\S.*$")
SUMMARY = re.compile(r"^Abgebrochen: \d+ Fehler\. ")

# Builds run often and small: bounded examples, no per-example deadline (the
# watchdog above covers hangs; a loaded CI machine must not make them flaky).
PROPERTY = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --- building and judging ------------------------------------------------------------


@contextlib.contextmanager
def watchdog(seconds: float = BUILD_TIMEOUT) -> Iterator[None]:
    """Abort the whole test process with every thread's stack if the block hangs."""
    faulthandler.dump_traceback_later(seconds, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@contextlib.contextmanager
def scratch_site(files: Mapping[str, str | bytes]) -> Iterator[Path]:
    """A fresh copy of the minimal site with ``files`` written into it (bytes verbatim)."""
    with tempfile.TemporaryDirectory(prefix="kl-robust-") as folder:
        root = copy_fixture_site("minimal", Path(folder) / "site")
        for rel, data in files.items():
            path = root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data if isinstance(data, bytes) else data.encode("utf-8"))
        yield root


def build(root: Path, *extra: str) -> Result:
    args = ["--now", NOW, "build", "--content", str(root / "content")]
    args += ["--templates", str(TEMPLATES), "--output", str(root / "out"), "--jobs", "1"]
    with watchdog():
        return CliRunner().invoke(cli, [*args, *extra])


def assert_clean_outcome(result: Result, root: Path) -> None:
    """Exit 0, or exit 1 with only positioned problems; never a traceback."""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        import traceback

        trace = "".join(traceback.format_exception(result.exception))
        pytest.fail(f"the build crashed:\n{trace}")
    assert result.exit_code in (0, 1), result.output
    lines = result.stderr.splitlines()
    if result.exit_code == 1:
        assert lines and SUMMARY.match(lines[-1]), result.stderr
        lines = lines[:-1]
        assert lines, "a failed build must say why"
    for line in lines:
        match = PROBLEM.match(line)
        assert match, f"not a `path:line: message` line: {line!r}"
        assert (root / match.group(1)).exists(), f"problem names no file of the site: {line!r}"


def build_and_check(files: Mapping[str, str | bytes]) -> Result:
    with scratch_site(files) as root:
        result = build(root)
        assert_clean_outcome(result, root)
        if currently_in_test_context():  # --hypothesis-show-statistics: both outcomes occur
            event(f"exit code {result.exit_code}")
        if result.exit_code == 0:
            assert (root / "out" / "index.html").is_file()
        return result


# --- strategies ----------------------------------------------------------------------

# Characters that break naive code: NUL and other controls, bidi overrides,
# combining marks, zero-width and line-separator characters, a BOM, emoji with
# joiners, CJK and German letters.
_ODD = (
    "\x00\x01\x08\x0b\x0c\x1b\x7f\x85\u200b\u200d\u200e\u200f\u202a\u202e\u2066"
    "\u0301\u0308\u20dd\u2028\u2029\ufeff\ufffd\U0001f600\U0001f469\u200d\U0001f680"
    "漢字äöüßÄÖÜ€„“‚‘–—…"
)
odd_text = st.text(
    alphabet=st.characters(codec="utf-8") | st.sampled_from(_ODD), max_size=60
) | st.sampled_from(["", " ", "x" * 5000, "ä" * 3000, "<script>alert(1)</script>"])

_FIELDS = [
    *("title", "subtitle", "summary", "date", "location", "projects", "tags", "contacts"),
    *("boilerplate", "image", "image_alt", "draft", "slug", "smart_city", "status", "start"),
    *("end", "partners", "funding", "contact", "website", "weight", "menu"),
]

yaml_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([2**64, -(2**63), 10**300])
    | st.floats(allow_nan=True, allow_infinity=True)
    | odd_text
    | st.dates()
    | st.datetimes(timezones=st.just(dt.UTC) | st.none())
)
yaml_values = st.recursive(
    yaml_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(_FIELDS) | odd_text, children, max_size=4)
    ),
    max_leaves=12,
)
front_matter = st.dictionaries(
    st.sampled_from(_FIELDS) | st.text(max_size=12), yaml_values, max_size=8
)
# Sometimes the well-formed core of a valid file, so that not every example fails at once.
plausible = st.fixed_dictionaries(
    {"title": odd_text.filter(str.strip), "summary": odd_text.filter(str.strip)}
)

# Markdown building blocks: every construct the pipeline handles specially.
_SNIPPETS = [
    "# ",
    "## ",
    "###### ",
    "\n",
    "\n\n",
    "- ",
    "1. ",
    "> ",
    "    ",
    "\t",
    "```",
    "`",
    "``",
    "**",
    "*",
    "_",
    "__",
    "[",
    "]",
    "](",
    ")",
    "![",
    "<",
    ">",
    "&",
    "&amp;",
    "&#x",
    "&#0;",
    "|",
    "|---|",
    "---",
    "***",
    "[^1]",
    "[^1]: Fußnote",
    "{: #id .klasse }",
    "\\",
    "\\`",
    "http://example.org",
    "javascript:alert(1)",
    "data:text/html,x",
    "mailto:a@b.de",
    "<div>",
    "</div>",
    "<span>",
    "<script>",
    "</script>",
    "<iframe src=//x>",
    "<!--",
    "-->",
    "<![CDATA[",
    "<?php",
    "<a href=",
    '"',
    "'",
    "…",
    "Text",
    "Wort mit Umlaut: Größe",
    "[Link](/projekte/)",
    "[Link](../projekte/beispielprojekt.md)",
    "[kaputt](/gibtsnicht/)",
    "![Bild](/medien/x.png)",
    "<img src=x onerror=alert(1)>",
    "<svg><script>1</script></svg>",
]
markdown_bodies = st.lists(st.sampled_from(_SNIPPETS) | odd_text, max_size=40).map("".join)


def _dump(meta: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(meta), allow_unicode=True, sort_keys=False)


def _document(meta: Mapping[str, Any], body: str) -> str:
    return f"---\n{_dump(meta)}---\n{body}"


_KINDS: dict[str, str] = {
    "page": "content/seiten/probe.md",
    "project": "content/projekte/probe.md",
    "press": "content/presse/2024-06-01-probe.md",
}


# --- properties ----------------------------------------------------------------------


@PROPERTY
@given(
    kind=st.sampled_from(sorted(_KINDS)),
    meta=front_matter | st.builds(lambda a, b: {**a, **b}, plausible, front_matter),
)
def test_any_front_matter_builds_or_fails_cleanly(kind: str, meta: dict[str, Any]) -> None:
    build_and_check({_KINDS[kind]: _document(meta, "Ein Absatz.\n")})


@PROPERTY
@given(kind=st.sampled_from(sorted(_KINDS)), yaml_text=st.text(max_size=300))
def test_any_yaml_text_builds_or_fails_cleanly(kind: str, yaml_text: str) -> None:
    # Raw text, not dumped values: unclosed quotes, tabs, stray colons, tags, anchors.
    build_and_check({_KINDS[kind]: f"---\n{yaml_text}\n---\nText\n"})


@PROPERTY
@given(body=markdown_bodies)
def test_any_markdown_body_builds_or_fails_cleanly(body: str) -> None:
    meta = {"title": "Probe", "summary": "Kurz."}
    build_and_check({"content/projekte/probe.md": _document(meta, body)})


@settings(PROPERTY, max_examples=25)
@given(
    where=st.sampled_from(
        [
            "content/seiten/probe.md",
            "content/daten/kontakte.yaml",
            "content/daten/presseabbinder.yaml",
            "content/site.yaml",
        ]
    ),
    junk=st.binary(max_size=2000),
    prefix=st.sampled_from([b"", b"---\ntitle: Probe\n---\n", b"\xef\xbb\xbf"]),
)
def test_binary_junk_builds_or_fails_cleanly(where: str, junk: bytes, prefix: bytes) -> None:
    build_and_check({where: prefix + junk})


@settings(PROPERTY, max_examples=20)
@given(entries=st.dictionaries(st.text(max_size=10), yaml_values, max_size=5))
def test_any_data_file_builds_or_fails_cleanly(entries: dict[str, Any]) -> None:
    build_and_check(
        {"content/daten/kontakte.yaml": _dump({"presse": {"name": "Pressestelle"}, **entries})}
    )


@settings(PROPERTY, max_examples=20)
@given(extra=st.dictionaries(st.sampled_from(_FIELDS) | st.text(max_size=12), yaml_values))
def test_any_site_settings_build_or_fail_cleanly(extra: dict[str, Any]) -> None:
    settings_file = {"title": "Minimal", "base_url": "https://example.org/", **extra}
    build_and_check({"content/site.yaml": _dump(settings_file)})


# --- explicit hostile files ----------------------------------------------------------

_LOL = '["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'
ALIAS_BOMB = (
    "---\ntitle: Bombe\na: &a "
    + _LOL
    + "\n"
    + "".join(
        f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
        for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "---\nText\n"
)

HOSTILE: dict[str, str | bytes] = {
    "alias bomb": ALIAS_BOMB,
    "flow nesting 100k deep": "---\ntitle: " + "[" * 100_000 + "]" * 100_000 + "\n---\nx\n",
    "mapping nesting 50k deep": "---\ntitle: " + "{a: " * 50_000 + "1" + "}" * 50_000 + "\n---\n",
    "block nesting 3000 deep": "---\ntitle: x\n"
    + "".join("  " * i + f"k{i}:\n" for i in range(3000))
    + "---\n",
    "python object tag": "---\ntitle: !!python/object/apply:os.system ['echo pwned']\n---\n",
    "5000-digit integer": "---\ntitle: x\nweight: " + "9" * 5000 + "\n---\n",
    "20000 unknown keys": "---\ntitle: x\n"
    + "".join(f"k{i}: v\n" for i in range(20_000))
    + "---\n",
    "2 MB title": "---\ntitle: " + "x" * 2_000_000 + "\n---\nText\n",
    "control character escape": '---\ntitle: "Titel \\x1b[2J"\n---\nText\n',
    "control character in body": "---\ntitle: x\n---\nZeile\nmit \x0b Tab\n",
    "NUL in body": "---\ntitle: x\n---\nText\x00mehr\n",
    "not UTF-8": b"---\ntitle: Gr\xf6\xdfe\n---\nText\n",
    "UTF-16": "---\ntitle: x\n---\nText\n".encode("utf-16"),
    "lists nested 500 deep": "---\ntitle: x\n---\n"
    + "".join("    " * i + "- x\n" for i in range(500)),
    "quotes nested 5000 deep": "---\ntitle: x\n---\n" + ">" * 5000 + " x\n",
    "only front matter opener": "---\n",
    "empty file": "",
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_page_fails_cleanly_and_fast(case: str) -> None:
    started = time.perf_counter()
    result = build_and_check({"content/seiten/probe.md": HOSTILE[case]})
    assert time.perf_counter() - started < 20, "hostile input must not make the build crawl"
    if case not in ("quotes nested 5000 deep", "lists nested 500 deep", "2 MB title"):
        assert result.exit_code == 1, f"{case} must be refused"


def test_alias_bomb_is_refused_within_two_seconds() -> None:
    with scratch_site({"content/seiten/bombe.md": ALIAS_BOMB}) as root:
        build(root)  # warm-up: imports and the first template compile are not the point
        started = time.perf_counter()
        result = build(root)
        elapsed = time.perf_counter() - started
    assert result.exit_code == 1
    assert "content/seiten/bombe.md:3: YAML-Aliase (*name) werden nicht unterstützt" in (
        result.stderr
    )
    assert elapsed < 2.0


@pytest.mark.slow
def test_a_10_mb_body_builds(tmp_path: Path) -> None:
    # Realistic text (headings, lists, links, emphasis, quotes), so that every Markdown
    # pass does its full work; built in a subprocess with a hard timeout.
    root = copy_fixture_site("minimal", tmp_path / "site")
    block = (
        "## Abschnitt\n\nDie Stadt **digitalisiert** ihre Dienste, siehe "
        "[Projekte](/projekte/) und _mehr_ dazu – „so“ einfach.\n\n- eins\n- zwei\n\n"
    )
    body = block * (10_000_000 // len(block) + 1)
    (root / "content/seiten/gross.md").write_text(f"---\ntitle: Groß\n---\n{body}")
    started = time.perf_counter()
    command = [sys.executable, "-m", "kldigital_site", "--now", NOW, "build", "--no-cache"]
    completed = subprocess.run(
        [*command, "--templates", str(TEMPLATES)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )
    elapsed = time.perf_counter() - started
    assert completed.returncode == 0, completed.stderr[-3000:]
    page = (root / "output/gross/index.html").read_bytes()
    assert len(page) > 10_000_000
    assert page.count(b"<h2") >= 70_000
    print(f"10 MB body: {elapsed:.1f} s")


# --- Markdown that upstream Python-Markdown renders in quadratic time -----------------

FLOODS: dict[str, Callable[[int], str]] = {
    "[": lambda n: "[" * n,
    "![": lambda n: "![" * (n // 2),
    "[[]": lambda n: "[[]" * (n // 3),
    "[a](": lambda n: "[a](" * (n // 4),
    "[a]( ... )": lambda n: "[a](" * (n // 4) + ")",
    "[a][": lambda n: "[a][" * (n // 4),
    "<![CDATA[": lambda n: "<![CDATA[" * (n // 9),
    "\\``": lambda n: "\\``" * (n // 3),
    "footnote refs": lambda n: "x[^1] " * (n // 6) + "\n\n[^1]: Fußnote\n",
    "table test on peeled lines": lambda n: "a|b\n-\n# h\n" * (n // 10),
}


@pytest.mark.parametrize("flood", sorted(FLOODS))
def test_pathological_markdown_renders_in_bounded_time(flood: str) -> None:
    # 40 KB of these took from 5 s to 7 minutes before mdlimits; now well under a second.
    renderer = MarkdownRenderer()
    body = FLOODS[flood](40_000)
    started = time.perf_counter()
    with watchdog():
        result = renderer.render(body, path="x.md", first_line=1, resolve_link=lambda t: None)
    assert time.perf_counter() - started < 5.0
    assert isinstance(result.html, str)


def test_deep_nesting_is_cut_off_not_recursed() -> None:
    # 500 nested list levels took 7 s and then ended the build with RecursionError.
    body = "".join("    " * i + "- x\n" for i in range(500))
    started = time.perf_counter()
    result = MarkdownRenderer().render(body, path="x.md", first_line=1, resolve_link=lambda t: t)
    assert time.perf_counter() - started < 5.0
    assert not result.problems
    assert result.html.count("<ul>") <= mdlimits.MAX_NESTING // 2


def test_a_recursion_overflow_is_an_error_not_a_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    # The backstop behind the nesting bounds (ours, and since Python-Markdown 3.11.4 its own
    # nearing_recursion_limit, which keeps deeper list markers as text): whatever still
    # recurses too deep inside convert() is the editor's error at the body's first line.
    renderer = MarkdownRenderer()

    def recursing(source: str) -> str:
        return recursing(source)

    monkeypatch.setattr(renderer._md, "convert", recursing)
    result = renderer.render("- x\n", path="x.md", first_line=7, resolve_link=lambda t: t)
    assert [(p.line, p.is_error) for p in result.problems] == [(7, True)]
    assert "verschachtelt" in result.problems[0].message
    # The renderer is reset and renders the next body as usual.
    monkeypatch.undo()
    after = renderer.render("- x\n", path="y.md", first_line=1, resolve_link=lambda t: t)
    assert not after.problems and "<li>x</li>" in after.html


def _upstream(bounded: bool) -> markdown.Markdown:
    md = markdown.Markdown(extensions=["tables", "footnotes", "attr_list", "toc", "sane_lists"])
    return mdlimits.bound_scans(md) if bounded else md


@settings(max_examples=300, deadline=None)
@example(body='[]("](')  # upstream answers index -1 here; found by this test
@given(body=st.lists(st.sampled_from(_SNIPPETS) | st.text(max_size=8), max_size=30).map("".join))
def test_bounded_scans_give_upstream_html_within_their_bounds(body: str) -> None:
    # The bounds only cut off what no editor writes; below them the HTML is upstream's.
    assume(body.count("[") + body.count("]") < mdlimits.MAX_BRACKETS)
    assume(sum(body.count(c) for c in "()'\"") < mdlimits.MAX_SPECIALS)
    assume(body.count("`") < mdlimits.MAX_TICK_RUNS)
    assert _upstream(True).convert(body) == _upstream(False).convert(body)


def test_repeated_footnote_references_keep_upstream_ids() -> None:
    body = "a[^1] b[^1] c[^1] d[^2] e[^1]\n\n[^1]: eins\n[^2]: zwei\n"
    bounded, plain = _upstream(True), _upstream(False)
    for _ in range(2):  # the second document after reset() numbers from the start again
        assert bounded.convert(body) == plain.convert(body)
        bounded.reset()
        plain.reset()
    assert 'id="fnref4:1"' in bounded.convert(body)
