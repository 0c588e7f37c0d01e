"""Split a Markdown file into its YAML front matter and its body, keeping line numbers.

Input: the decoded text of one file. Output: ``FrontMatterSplit`` with the YAML
text, the file line on which it starts and the body with its first line, so that
every later position can be shifted into file coordinates (Hugo
``page__content.go``). python-frontmatter's own ``split`` discards those offsets,
so only its boundary detection is used here.
"""

from __future__ import annotations

from dataclasses import dataclass

from frontmatter.default_handlers import YAMLHandler

_HANDLER = YAMLHandler()


@dataclass(frozen=True, slots=True)
class FrontMatterSplit:
    yaml_text: str
    yaml_first_line: int
    body: str
    body_first_line: int


class FrontMatterMissing(ValueError):
    """The text has no front matter block, or the block is never closed."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def normalise_text(raw: bytes) -> str:
    """UTF-8 with or without BOM; CRLF and CR become LF (line numbers stay the same)."""
    text = raw.decode("utf-8-sig")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def split_front_matter(text: str) -> FrontMatterSplit:
    if not _HANDLER.detect(text):
        raise FrontMatterMissing(
            "Die Datei muss mit einem Front-Matter-Block beginnen (erste Zeile: ---).", 1
        )
    boundaries = list(_HANDLER.FM_BOUNDARY.finditer(text))
    if len(boundaries) < 2 or boundaries[0].start() != 0:
        raise FrontMatterMissing(
            "Der Front-Matter-Block wird nicht mit einer Zeile --- abgeschlossen.", 1
        )
    opening, closing = boundaries[0], boundaries[1]
    yaml_start = opening.end()
    if text[yaml_start : yaml_start + 1] == "\n":
        yaml_start += 1
    body_start = closing.end()
    if text[body_start : body_start + 1] == "\n":
        body_start += 1
    return FrontMatterSplit(
        yaml_text=text[yaml_start : closing.start()],
        yaml_first_line=text.count("\n", 0, yaml_start) + 1,
        body=text[body_start:],
        body_first_line=text.count("\n", 0, body_start) + 1,
    )
