"""YAML with positions: every mapping key and value keeps its file line.

Input: YAML text and the file line it starts on. Output: a ``Located`` tree
(plain Python values plus 1-based lines) or a ``SiteError``. The YAML is
composed to nodes so that each key's ``start_mark`` survives; line numbers are
never recovered from error strings (the weak spot of Hugo's
``line_number_extractors.go``).

Anchors and aliases are refused outright: editors never need them, and refusing
them is what stops an alias bomb ("billion laughs") before it expands.

YAML traps that lose an editor's text are errors with the fix in the message:
`` #`` after an unquoted text starts a comment (``title: Digitaltag
#digitalmiteinander`` would publish "Digitaltag"), and inside ``[…]`` it
swallows the rest of the list. A plain scalar keeps its text as written
(``Located.source``), so a field that wants text reads ``1.10`` as "1.10" and
can name ``no`` when YAML made a boolean of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.events import AliasEvent
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

# Deep nesting is never legitimate front matter; bounding it keeps hostile
# input from exhausting the stack.
_MAX_DEPTH = 20

# Characters no editor means to write: C0 controls other than tab and line ends,
# DEL, C1 controls (mis-decoded Windows text) and the noncharacters U+FFFE/FFFF.
# XML 1.0 forbids most of them, so one in a title breaks the Atom feed for every
# reader; raw in a file or as a YAML escape ("\x1b") they are an error.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def control_character_message(text: str) -> str | None:
    """The editor's message for the first control character in ``text``, if any."""
    found = CONTROL_CHARACTERS.search(text)
    if found is None:
        return None
    return (
        f"Unsichtbares Steuerzeichen U+{ord(found.group()):04X} "
        "(oft aus Word oder PDF mitkopiert); bitte entfernen."
    )


@dataclass(frozen=True, slots=True)
class Located:
    """A YAML value with the line of its key (for mapping entries) and of itself."""

    value: Any
    line: int
    key_line: int
    entries: Mapping[str, Located] = field(default_factory=dict)
    items: tuple[Located, ...] = ()
    source: str | None = None  # an unquoted scalar exactly as written; None otherwise

    @property
    def is_mapping(self) -> bool:
        return isinstance(self.value, dict)


_ALIAS_MESSAGE = "YAML-Aliase (*name) werden nicht unterstützt; bitte den Wert ausschreiben."


class YamlProblem(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class _PureNoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        if self.check_event(AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise YamlProblem(_ALIAS_MESSAGE, event.start_mark.line + 1)
        return super().compose_node(parent, index)


# libyaml composes about twenty times faster than the pure-Python parser; it
# resolves aliases to the anchored node itself, which _convert detects as a
# node visited twice.
_Loader: type[yaml.SafeLoader] = (
    yaml.CSafeLoader if yaml.__with_libyaml__ else _PureNoAliasLoader  # type: ignore[assignment]
)


def load_located(text: str, first_line: int) -> Located:
    """Parse ``text``; lines in the result and in errors are file lines."""
    offset = first_line - 1
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            if root is None:
                return Located({}, first_line, first_line)
            lines = text.splitlines()
            return _convert(loader, root, offset, key_line=None, depth=0, seen=set(), lines=lines)
        finally:
            loader.dispose()
    except YamlProblem as problem:
        raise YamlProblem(str(problem), problem.line + offset) from problem
    except yaml.MarkedYAMLError as exc:
        mark = _mark_of(exc)
        line = (mark.line + 1 + offset) if mark is not None else first_line
        lines = text.splitlines()
        trap = _comment_in_flow(exc, lines)
        if trap is not None:
            raise YamlProblem(trap[1], trap[0] + 1 + offset) from exc
        message = f"YAML-Syntaxfehler: {_explain(exc.problem)}"
        quoted = _quoted_suggestion(exc, lines)
        raise YamlProblem(message + (f": {quoted}" if quoted else ""), line) from exc
    except yaml.YAMLError as exc:
        raise YamlProblem(f"YAML-Syntaxfehler: {exc}", first_line) from exc


# PyYAML's messages are English; editors get the German meaning of the common ones.
_EXPLANATIONS = (
    (
        "mapping values are not allowed",
        "unerwarteter Doppelpunkt – Text mit „: “ bitte in Anführungszeichen setzen",
    ),
    ("could not find expected ':'", "hier fehlt ein Doppelpunkt (Schlüssel: Wert)"),
    ("found character '\\t'", "Tabulatoren sind nicht erlaubt, bitte Leerzeichen verwenden"),
    ("found a tab character", "Tabulatoren sind nicht erlaubt, bitte Leerzeichen verwenden"),
    ("exceeded maximum nesting depth", "die YAML-Daten sind zu tief verschachtelt"),
    ("expected <block end>", "die Einrückung stimmt nicht"),
    ("did not find expected key", "die Einrückung stimmt nicht"),
    ("did not find expected node content", "hier fehlt ein Wert"),
    (
        "found character that cannot start any token",
        "ein Zeichen, mit dem kein Wert beginnen darf (Tabulator, @ oder `) – "
        "Leerzeichen verwenden oder den Text in Anführungszeichen setzen",
    ),
    ("found unexpected end of stream", "ein Anführungszeichen wird nicht geschlossen"),
    ("found undefined alias", "YAML-Aliase (*name) werden nicht unterstützt"),
    ("expected ',' or ']'", "die Liste in [ ] wird nicht mit ] geschlossen oder ein Komma fehlt"),
    ("expected ',' or '}'", "die Angabe in { } wird nicht mit } geschlossen oder ein Komma fehlt"),
)


# For these, PyYAML's problem mark is where it gave up (often the end of the front
# matter, i.e. the closing ---); the editor's mistake is where the construct began.
_REPORT_AT_START = (
    "while scanning a quoted scalar",
    "while scanning a simple key",
    "while parsing a flow",
)


def _mark_of(exc: yaml.MarkedYAMLError) -> yaml.Mark | None:
    if exc.context_mark is not None and (exc.context or "").startswith(_REPORT_AT_START):
        return exc.context_mark
    return exc.problem_mark or exc.context_mark


# " #" or "[#" / ",#" inside a flow list: YAML reads a comment up to the end of the line.
_FLOW_COMMENT = re.compile(r"(?:(?<=[\[,{])|(?<=\s))#")
_FLOW_ITEM_WITH_HASH = re.compile(r"(?<=[\[,])(\s*)(#[^,\]\}]*?)(\s*)(?=[,\]\}]|$)")


def _comment_in_flow(exc: yaml.MarkedYAMLError, lines: list[str]) -> tuple[int, str] | None:
    """``tags: [Open Data, #Verwaltung]``: the line and message for what really went wrong
    (PyYAML only sees a list that never closes, often at the end of the front matter)."""
    if not (exc.context or "").startswith("while parsing a flow"):
        return None
    last = exc.problem_mark.line if exc.problem_mark is not None else len(lines) - 1
    for index, line in enumerate(lines[: last + 1]):
        opened = re.search(r"[\[{]", line)
        if opened is None or line.lstrip().startswith("#"):
            continue
        flow = line[opened.start() :]
        if _FLOW_COMMENT.search(flow) is None:
            continue
        fixed = line[: opened.start()] + _FLOW_ITEM_WITH_HASH.sub(
            lambda m: f'{m[1]}"{m[2]}"{m[3]}', flow
        )
        return index, (
            "„#“ beginnt in YAML einen Kommentar: Der Rest der Zeile ginge verloren, die "
            f"Liste bliebe offen. Einträge mit # bitte in Anführungszeichen setzen: "
            f"{fixed.strip()}"
        )
    return None


_KEY_AND_TEXT = re.compile(r"(\s*(?:-\s+)?[A-Za-z_][\w-]*):\s+(.*\S)\s*")


def _quoted_suggestion(exc: yaml.MarkedYAMLError, lines: list[str]) -> str | None:
    """``title: Digitaltag: Mitmachen``: the line as it should be written."""
    mark = exc.problem_mark
    if "mapping values are not allowed" not in (exc.problem or "") or mark is None:
        return None
    if mark.line >= len(lines):
        return None
    found = _KEY_AND_TEXT.fullmatch(lines[mark.line])
    if found is None or found[2].startswith(("'", '"', "[", "{")):
        return None
    escaped = found[2].replace("\\", "\\\\").replace('"', '\\"')
    return f'{found[1].strip()}: "{escaped}"'


def _explain(problem: str | None) -> str:
    text = problem or "ungültiges YAML"
    for english, german in _EXPLANATIONS:
        if english in text:
            return german
    return text


def _convert(
    loader: yaml.SafeLoader,
    node: Node,
    offset: int,
    key_line: int | None,
    depth: int,
    seen: set[int],
    lines: list[str],
) -> Located:
    line = node.start_mark.line + 1 + offset
    if id(node) in seen:
        raise YamlProblem(_ALIAS_MESSAGE, (key_line or line) - offset)
    seen.add(id(node))
    if depth > _MAX_DEPTH:
        raise YamlProblem("Die YAML-Daten sind zu tief verschachtelt.", line - offset)
    own_key_line = key_line if key_line is not None else line
    if isinstance(node, MappingNode):
        entries: dict[str, Located] = {}
        for key_node, value_node in node.value:
            key_line_here = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode) or key_node.tag != "tag:yaml.org,2002:str":
                raise YamlProblem(
                    "Schlüssel müssen einfache Namen sein (z. B. title:).", key_line_here
                )
            key = str(key_node.value)
            if (message := control_character_message(key)) is not None:
                raise YamlProblem(message, key_line_here)
            if key == "<<":
                raise YamlProblem(
                    "YAML-Merge-Schlüssel (<<) werden nicht unterstützt.", key_line_here
                )
            if key in entries:
                raise YamlProblem(f"Der Schlüssel „{key}“ steht doppelt da.", key_line_here)
            entries[key] = _convert(
                loader, value_node, offset, key_line_here + offset, depth + 1, seen, lines
            )
        plain = {key: located.value for key, located in entries.items()}
        return Located(plain, line, own_key_line, entries=entries)
    if isinstance(node, SequenceNode):
        items = tuple(
            _convert(loader, item, offset, None, depth + 1, seen, lines) for item in node.value
        )
        return Located([item.value for item in items], line, own_key_line, items=items)
    try:
        value = loader.construct_object(node, deep=True)
    except yaml.constructor.ConstructorError as exc:
        raise YamlProblem(
            f"Ungültiger Wert: unbekannter YAML-Typ {node.tag}", line - offset
        ) from exc
    except ValueError as exc:
        # PyYAML raises a bare ValueError for impossible dates such as 2021-02-30, and
        # for integers beyond Python's 4300-digit conversion limit.
        what = "Ungültige Zahl" if node.tag.endswith(":int") else "Ungültiges Datum"
        shown = node.value if len(node.value) <= 40 else node.value[:40] + " …"
        raise YamlProblem(f"{what}: {shown}", line - offset) from exc
    if isinstance(value, str) and (message := control_character_message(value)) is not None:
        raise YamlProblem(message, line - offset)
    unquoted = isinstance(node, ScalarNode) and node.style in (None, "")  # libyaml: ""
    if unquoted and isinstance(value, str):
        _refuse_trailing_comment(node, value, lines)
    return Located(value, line, own_key_line, source=str(node.value) if unquoted else None)


_TRAILING_COMMENT = re.compile(r"\s+#(.*)")


def _refuse_trailing_comment(node: Node, value: str, lines: list[str]) -> None:
    """``title: Digitaltag #digitalmiteinander``: YAML keeps "Digitaltag" and drops the rest
    as a comment; an editor meant it as part of the text."""
    end = node.end_mark
    if end.line >= len(lines):
        return
    found = _TRAILING_COMMENT.match(lines[end.line], end.column)
    if found is None:
        return
    lost = "#" + found[1].rstrip()
    whole = f"{value} {lost}".replace('"', '\\"')
    raise YamlProblem(
        f"Nach „{value}“ beginnt mit „ #“ ein YAML-Kommentar: „{lost}“ ginge verloren. "
        f'Gehört es zum Text, bitte den ganzen Text in Anführungszeichen setzen: "{whole}"; '
        "ein Kommentar gehört in eine eigene Zeile.",
        end.line + 1,
    )
