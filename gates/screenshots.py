"""Screenshots for reviewers: home, a project profile, a press release, and the
Leichte Sprache page and the accessibility statement where the site has them.

Input: one served site and a launched browser. Output: full-page PNGs
`<page>-desktop.png` (1280 px) and `<page>-mobile.png` (390 px, a phone) in
the given folder, and a `GateResult` that fails only when a page cannot be
shot (missing page type, load error, empty file).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gates.browser import DESKTOP, FONTS_READY, MOBILE, pages_by_type
from gates.core import Finding, GateResult, Site

if TYPE_CHECKING:
    from playwright.sync_api import Browser

GATE = "screenshots"
LOAD_LAZY_IMAGES = """() => Promise.all([...document.images].map((img) => {
  img.loading = "eager";
  return img.complete ? null : new Promise((done) => { img.onload = img.onerror = done; });
}))"""
PAGE_TIMEOUT_MS = 20_000
SHOTS = (("home", "home"), ("project", "project"), ("press-release", "press_release"))
# Pages set apart from their type (issue 13): shot when the site has them.
FIXED_SHOTS = (("leichte-sprache", "leichte-sprache/"), ("barrierefreiheit", "barrierefreiheit/"))


def _pick(site: Site, paths: list[str]) -> str:
    """Prefer a page that shows press photos or a gallery, then one with any image in
    its main content: more to look at."""
    mains: dict[str, str] = {}
    for path in paths:
        file = site.file_for_path(path)
        if file is not None:
            html = file.read_text(encoding="utf-8", errors="replace")
            mains[path] = html.split("<main", 1)[-1].split("</main>", 1)[0]
    for marker in ('class="photo-grid"', "<img"):
        for path, main in mains.items():
            if marker in main:
                return path
    return paths[0]


def take_screenshots(site: Site, browser: Browser, out_dir: Path) -> GateResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    for old in out_dir.glob("*.png"):
        old.unlink()
    groups = pages_by_type(site)
    findings: list[Finding] = []
    written: list[Path] = []
    targets: list[tuple[str, str]] = []
    for name, kind in SHOTS:
        if not groups.get(kind):
            findings.append(Finding(site.name, name, "screenshot", f"the site has no {kind} page"))
            continue
        targets.append((name, _pick(site, groups[kind])))
    for name, rel in FIXED_SHOTS:
        path = site.base_path + rel
        if site.file_for_path(path) is not None:
            targets.append((name, path))
    for label, viewport, mobile in (("desktop", DESKTOP, False), ("mobile", MOBILE, True)):
        context = browser.new_context(
            viewport=viewport,  # type: ignore[arg-type]
            is_mobile=mobile,
            has_touch=mobile,
            locale="de-DE",
            reduced_motion="reduce",
        )
        try:
            context.set_default_timeout(PAGE_TIMEOUT_MS)
            page = context.new_page()
            for name, path in targets:
                target = out_dir / f"{name}-{label}.png"
                try:
                    page.goto(site.origin + path, wait_until="load")
                    page.evaluate(FONTS_READY)
                    # A full-page shot does not scroll: lazy images below the fold
                    # would stay blank. Load them all first.
                    page.evaluate(LOAD_LAZY_IMAGES)
                    page.screenshot(path=str(target), full_page=True)
                except Exception as exc:  # reported, the other shots still taken
                    findings.append(
                        Finding(site.name, path, "screenshot", f"{type(exc).__name__}: {exc}")
                    )
                    continue
                if not target.is_file() or target.stat().st_size == 0:
                    findings.append(Finding(site.name, path, "screenshot", f"{target} is empty"))
                    continue
                written.append(target)
        finally:
            context.close()
    shown = ", ".join(f"{n}={p}" for n, p in targets)
    try:
        folder = out_dir.resolve().relative_to(Path.cwd())
    except ValueError:
        folder = out_dir
    summary = f"{len(written)} PNGs written to {folder}/ ({shown})"
    return GateResult(GATE, summary, findings)
