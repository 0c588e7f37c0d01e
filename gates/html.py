"""HTML gate: the Nu Html Checker (vnu.jar, run with the machine's Java).

Input: sites (only their trees are read): every HTML file, and the HTML part
of every e-mail file (a release's pressemitteilung.eml). Output: a
`GateResult` with one finding per vnu error ("error" and "non-document-error" messages); vnu's
warnings and info messages are counted and noted, not findings.
"""

from __future__ import annotations

import email
import email.message
import email.policy
import json
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import unquote, urlsplit

from gates.core import Finding, GateResult, Site
from gates.tools import find_java, find_vnu_jar

GATE = "html"
#: vnu takes about 1 s to start and checks dozens of pages per second.
TIMEOUT = 600.0
#: Files per vnu run: keeps the command line well below the system limit.
CHUNK = 400


def _path_from_url(url: str) -> Path:
    parts = urlsplit(url)
    return Path(unquote(parts.path)).resolve()


def run_vnu(files: Sequence[Path], *, timeout: float = TIMEOUT) -> list[dict[str, object]]:
    """vnu's JSON messages for the given files, all chunks together."""
    java, jar = find_java(), find_vnu_jar()
    messages: list[dict[str, object]] = []
    for start in range(0, len(files), CHUNK):
        chunk = [str(f) for f in files[start : start + CHUNK]]
        done = subprocess.run(
            [java, "-Xss16m", "-jar", str(jar), "--format", "json", "--stdout",
             "--exit-zero-always", "--no-langdetect", *chunk],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"vnu failed with status {done.returncode}: {done.stderr[-2000:]}")
        try:
            report = json.loads(done.stdout)
        except json.JSONDecodeError as exc:
            raise RuntimeError(f"vnu printed no JSON: {done.stdout[:500]!r}") from exc
        messages.extend(report.get("messages", []))
    return messages


def email_html(path: Path) -> str:
    """The text/html part of an e-mail file ("" if it has none)."""
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(message, email.message.EmailMessage)
    part = message.get_body(("html",))
    return str(part.get_content()) if part is not None else ""


def check_html(sites: Sequence[Site]) -> GateResult:
    """Validate every HTML file of every site; zero errors is a pass."""
    owners: dict[Path, tuple[Site, Path]] = {}
    for site in sites:
        for file in site.html_files():
            owners[file.resolve()] = (site, file)
    with tempfile.TemporaryDirectory(prefix="gates-eml-") as parts:
        # The HTML part of every release's e-mail (pressemitteilung.eml) is checked
        # too; a finding names the .eml file.
        emails = [(s, eml) for s in sites for eml in sorted(s.root.rglob("*.eml"))]
        for number, (owner, eml) in enumerate(emails):
            part = Path(parts) / f"{number}.html"
            part.write_text(email_html(eml), encoding="utf-8")
            owners[part.resolve()] = (owner, eml)
        files = list(owners)
        messages = run_vnu(files) if files else []
    findings: list[Finding] = []
    warnings: list[Finding] = []
    for message in messages:
        kind = str(message.get("type", ""))
        if kind == "info" and message.get("subType") != "warning":
            continue
        url = str(message.get("url", ""))
        owner = owners.get(_path_from_url(url)) if url else None
        if owner is None:
            site_name, where = "-", url or "vnu"
        else:
            site, file = owner
            site_name = site.name
            where = file.relative_to(site.root).as_posix()
        line = message.get("lastLine") or message.get("firstLine")
        column = message.get("firstColumn")
        if line is not None:
            where += f":{line}"
            if column is not None:
                where += f":{column}"
        text = str(message.get("message", "")).replace("\u201c", '"').replace("\u201d", '"')
        extract = str(message.get("extract", "")).replace("\n", " ").strip()
        if extract:
            text += f" [{extract[:80]}]"
        if kind == "info":
            warnings.append(Finding(site_name, where, "vnu-warning", text))
        else:
            findings.append(Finding(site_name, where, f"vnu-{kind}", text))
    summary = f"{len(findings)} errors in {len(files)} files ({len(sites)} builds)"
    if warnings:
        summary += f"; {len(warnings)} warnings (not failing, listed in the report)"
    return GateResult(GATE, summary, findings, notes=[str(w) for w in warnings])
