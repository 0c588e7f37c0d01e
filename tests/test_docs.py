"""The documentation a clone has: every relative link of README and docs/ leads to a
file of the repository (issue 18: the README linked a ../shared/ path a clone lacks)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
# [text](target): outside code, which shows link syntax as an example.
LINK = re.compile(r"\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
CODE = re.compile(r"```.*?```|`[^`\n]*`", re.DOTALL)


def _relative_links(path: Path) -> list[str]:
    text = CODE.sub("", path.read_text(encoding="utf-8"))
    return [
        target
        for target in LINK.findall(text)
        if not re.match(r"[a-z]+:", target) and not target.startswith("#")
    ]


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_every_relative_link_leads_to_a_file_of_the_repository(doc: Path) -> None:
    for target in _relative_links(doc):
        file = (doc.parent / target.split("#")[0]).resolve()
        assert file.is_relative_to(REPO), f"{doc.name}: {target} leaves the repository"
        assert file.exists(), f"{doc.name}: {target} does not exist"


def test_the_content_model_is_the_projects_own() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "docs/content-model.md" in readme and "../shared" not in readme
    assert "build --preview" in (REPO / "docs" / "content-model.md").read_text(encoding="utf-8")
