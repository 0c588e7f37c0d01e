"""Locate the real tools the gates drive: Java + vnu.jar, nginx, Apache httpd, Chromium, axe-core.

Nothing here installs anything: a missing tool is a `MissingTool` error that
says to run `.ci/install-system-deps.sh`, which installs all of them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

GATES_DIR = Path(__file__).resolve().parent
NODE_MODULES = GATES_DIR / "node_modules"
VNU_JAR = NODE_MODULES / "vnu-jar" / "build" / "dist" / "vnu.jar"
AXE_JS = NODE_MODULES / "axe-core" / "axe.min.js"
CHROMIUM = Path("/usr/bin/chromium")
MIME_TYPES = Path("/etc/nginx/mime.types")

INSTALL_HINT = "run `bash .ci/install-system-deps.sh` (as root) to install the gates' tools"


class MissingTool(RuntimeError):
    """A tool the gates need is not installed."""


@dataclass(frozen=True, slots=True)
class Tools:
    java: str
    vnu_jar: Path
    nginx: str
    apache: str
    mime_types: Path
    chromium: Path
    axe_js: Path


def _which(name: str, *extra_dirs: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for directory in extra_dirs:
        candidate = Path(directory) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def find_java() -> str:
    java = _which("java")
    if java is None:
        raise MissingTool(f"java not found (the Nu Html Checker needs Java 17+): {INSTALL_HINT}")
    return java


def find_vnu_jar() -> Path:
    if not VNU_JAR.is_file():
        raise MissingTool(f"{VNU_JAR} not found (npm package vnu-jar): {INSTALL_HINT}")
    return VNU_JAR


def find_axe_js() -> Path:
    if not AXE_JS.is_file():
        raise MissingTool(f"{AXE_JS} not found (npm package axe-core): {INSTALL_HINT}")
    return AXE_JS


def find_nginx() -> str:
    nginx = _which("nginx", "/usr/sbin", "/sbin")
    if nginx is None:
        raise MissingTool(f"nginx not found (Debian package nginx-light): {INSTALL_HINT}")
    if not MIME_TYPES.is_file():
        raise MissingTool(f"{MIME_TYPES} not found (Debian package nginx-common): {INSTALL_HINT}")
    return nginx


def find_apache() -> str:
    apache = _which("apache2", "/usr/sbin", "/sbin")
    if apache is None:
        raise MissingTool(f"apache2 not found (Debian package apache2): {INSTALL_HINT}")
    return apache


def find_chromium() -> Path:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        raise MissingTool(f"{CHROMIUM} not found (Debian package chromium): {INSTALL_HINT}")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        raise MissingTool(
            "the Python package playwright is missing: run `make install-test`"
        ) from exc
    return CHROMIUM


def find_all() -> Tools:
    """Every tool, or one `MissingTool` error naming all that are missing."""
    problems: list[str] = []
    found: dict[str, object] = {}
    finders = {
        "java": find_java,
        "vnu_jar": find_vnu_jar,
        "nginx": find_nginx,
        "apache": find_apache,
        "chromium": find_chromium,
        "axe_js": find_axe_js,
    }
    for key, finder in finders.items():
        try:
            found[key] = finder()
        except MissingTool as exc:
            problems.append(str(exc).replace(f": {INSTALL_HINT}", ""))
    if problems:
        raise MissingTool("missing: " + "; ".join(problems) + f"\n{INSTALL_HINT}")
    return Tools(
        java=str(found["java"]),
        vnu_jar=Path(str(found["vnu_jar"])),
        nginx=str(found["nginx"]),
        apache=str(found["apache"]),
        mime_types=MIME_TYPES,
        chromium=Path(str(found["chromium"])),
        axe_js=Path(str(found["axe_js"])),
    )


def version_of(command: list[str], timeout: float = 30) -> str:
    """The first line a `--version`-like command prints (stdout or stderr)."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    text = (done.stdout or done.stderr).strip()
    return text.splitlines()[0] if text else "unknown"
