"""Accessibility gate: axe-core in headless Chromium, plus a keyboard check.

Input: served sites and a launched browser. Output: a `GateResult` with one
finding per (page, width, axe rule) violation of WCAG 2.1 A and AA, and per
failed check of our own:

* `skip-link`: the first Tab must focus a visible "skip to content" link
  whose target is (in) `<main>`, and activating it must move focus there
  (focus lands in the target, or the next Tab does),
* `reflow` (WCAG 1.4.10): at 390 px the page must not scroll sideways,
* `script-error`: an uncaught JavaScript exception or a console error while
  the page loads,
* `failed-request`: a same-origin request the page makes answering >= 400.

Every page type of the content model is visited (a few pages of each, the
404 page at an unknown URL, and the search page with a query, once its
script has shown the results) at 1280 px and at 390 px (a phone: touch,
mobile viewport).
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from gates.browser import DESKTOP, FONTS_READY, MOBILE, choose_pages, search_results_target
from gates.core import Finding, GateResult, Site
from gates.links import UNKNOWN_PATH
from gates.tools import find_axe_js

if TYPE_CHECKING:
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request, Response

GATE = "a11y"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PAGE_TIMEOUT_MS = 20_000
SETTLE_TIMEOUT_MS = 10_000
AXE_TIMEOUT_MS = 90_000
MAX_NODES_SHOWN = 3

_AXE_RUN = """
async ([tags, timeoutMs]) => {
  // Playwright's evaluate has no timeout of its own: bound axe here.
  const timeout = new Promise((_, reject) => setTimeout(
    () => reject(new Error(`axe-core did not finish within ${timeoutMs} ms`)), timeoutMs));
  const result = await Promise.race([timeout, axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  })]);
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.map((n) => ({
      target: n.target.map(String).join(" "),
      summary: (n.failureSummary || "").replace(/\\s+/g, " ").trim(),
    })),
  }));
}
"""

_FIRST_FOCUS = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) {
    return {focused: false};
  }
  const r = el.getBoundingClientRect();
  const info = {
    focused: true,
    tag: el.tagName.toLowerCase(),
    text: (el.textContent || "").trim().replace(/\\s+/g, " ").slice(0, 60),
    href: el.getAttribute("href") || "",
    visible: r.width >= 1 && r.height >= 1 && r.right > 0 && r.bottom > 0
      && r.left < window.innerWidth && r.top < window.innerHeight,
    id: null, target: false, targetIsMain: false,
  };
  const samePage = el.tagName === "A" && el.hash.length > 1
    && el.origin + el.pathname + el.search
       === location.origin + location.pathname + location.search;
  if (samePage) {
    info.id = decodeURIComponent(el.hash.slice(1));
    const target = document.getElementById(info.id);
    info.target = !!target;
    info.targetIsMain = !!target && (target.tagName === "MAIN"
      || target.getAttribute("role") === "main"
      || !!target.closest("main, [role=main]")
      || !!target.querySelector("main, [role=main]"));
  }
  return info;
}
"""

_FOCUS_IN_TARGET = """
([id, strict]) => {
  const target = document.getElementById(id);
  const a = document.activeElement;
  if (!target || !a || a === document.body || a === document.documentElement) return false;
  if (a === target || target.contains(a)) return true;
  if (strict) return false;
  return !!(target.compareDocumentPosition(a) & Node.DOCUMENT_POSITION_FOLLOWING);
}
"""

_OVERFLOW = """
(width) => {
  const doc = document.documentElement;
  const scroll = Math.max(doc.scrollWidth, document.body ? document.body.scrollWidth : 0);
  if (scroll <= width + 1) return null;
  const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "")
    + (typeof el.className === "string" && el.className.trim()
       ? "." + el.className.trim().split(/\\s+/).join(".") : "");
  const wide = [];
  for (const el of document.body.querySelectorAll("*")) {
    const right = el.getBoundingClientRect().right + window.scrollX;
    const parent = el.parentElement;
    const parentRight = parent ? parent.getBoundingClientRect().right + window.scrollX : 0;
    if (right > width + 1 && parentRight <= width + 1) wide.push(name(el));
    if (wide.length >= 3) break;
  }
  return {scroll, wide};
}
"""


@dataclass  # no slots: Playwright tags the bound handler methods
class _PageEvents:
    origin: str
    main_url: str = ""
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    external: set[str] = field(default_factory=set)

    def reset(self, main_url: str) -> None:
        self.main_url = main_url
        self.errors.clear()
        self.failed.clear()
        self.external.clear()

    def on_console(self, message: ConsoleMessage) -> None:
        # Failed loads are reported precisely by on_response/on_request_failed.
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(f"console error: {message.text[:200]}")

    def on_page_error(self, error: Any) -> None:
        self.errors.append(str(error).splitlines()[0][:200] if str(error) else repr(error))

    def _same_origin(self, url: str) -> bool:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.netloc}" == self.origin

    def on_response(self, response: Response) -> None:
        url = response.url
        if not self._same_origin(url) or url.split("#")[0] == self.main_url:
            return
        if urlsplit(url).path.endswith("/favicon.ico"):
            return  # asked for by the browser itself, not by the page
        if response.status >= 400:
            self.failed.append(f"{urlsplit(url).path} answered HTTP {response.status}")

    def on_request_failed(self, request: Request) -> None:
        url = request.url
        if url.startswith(("data:", "blob:")):
            return
        if request.failure == "net::ERR_ABORTED":
            return  # cancelled by the next navigation (a late favicon, say)
        if self._same_origin(url):
            self.failed.append(f"{urlsplit(url).path} failed: {request.failure or 'unknown'}")
        else:
            self.external.add(f"{urlsplit(url).scheme}://{urlsplit(url).netloc}")


@dataclass(slots=True)
class _Checker:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    axe_version: str = ""

    def add(self, site: Site, where: str, rule: str, message: str) -> None:
        self.findings.append(Finding(site.name, where, rule, message))

    def run_axe(self, page: Page, site: Site, where: str) -> None:
        if not self.axe_version:
            self.axe_version = str(page.evaluate("() => axe.version"))
        violations: list[dict[str, Any]] = page.evaluate(_AXE_RUN, [AXE_TAGS, AXE_TIMEOUT_MS])
        for violation in violations:
            nodes = violation["nodes"]
            shown = "; ".join(n["target"] for n in nodes[:MAX_NODES_SHOWN])
            more = (
                f" (+{len(nodes) - MAX_NODES_SHOWN} more)" if len(nodes) > MAX_NODES_SHOWN else ""
            )
            summary = nodes[0]["summary"][:240] if nodes else ""
            self.add(
                site, where, f"axe:{violation['id']}",
                f"{violation['help']} [{violation['impact']}] at {shown}{more}. {summary}",
            )  # fmt: skip

    def check_skip_link(self, page: Page, site: Site, where: str) -> None:
        page.keyboard.press("Tab")
        info: dict[str, Any] = page.evaluate(_FIRST_FOCUS)
        if not info["focused"]:
            self.add(site, where, "skip-link", "the first Tab focuses nothing")
            return
        described = f"<{info['tag']} href={info['href']!r}> {info['text']!r}"
        if info["id"] is None:
            self.add(
                site, where, "skip-link",
                f"the first focusable element is {described}, not a link to the main content",
            )  # fmt: skip
            return
        if not info["target"]:
            self.add(site, where, "skip-link", f"{described} points at no element on the page")
            return
        if not info["targetIsMain"]:
            self.add(site, where, "skip-link", f"{described} points at an element outside <main>")
            return
        if not info["visible"]:
            self.add(site, where, "skip-link", f"{described} stays invisible when focused")
        page.keyboard.press("Enter")
        if page.evaluate(_FOCUS_IN_TARGET, [info["id"], True]):
            return
        page.keyboard.press("Tab")
        if not page.evaluate(_FOCUS_IN_TARGET, [info["id"], False]):
            self.add(
                site, where, "skip-link",
                f"activating {described} does not move keyboard focus to #{info['id']}",
            )  # fmt: skip

    def check_reflow(self, page: Page, site: Site, where: str, width: int) -> None:
        overflow = page.evaluate(_OVERFLOW, width)
        if overflow:
            culprits = ", ".join(overflow["wide"]) or "unknown elements"
            self.add(
                site, where, "reflow",
                f"the page is {overflow['scroll']} px wide at a {width} px viewport "
                f"(WCAG 1.4.10); wider than the screen: {culprits}",
            )  # fmt: skip

    def check_page(
        self, page: Page, events: _PageEvents, site: Site, path: str, label: str, mobile: bool
    ) -> None:
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        where = f"{path} @{label}"
        events.reset(site.origin + path)
        try:
            page.goto(site.origin + path, wait_until="load")
            if "?" in path:  # results made by script: let it fetch and render them
                with contextlib.suppress(PlaywrightTimeout):
                    page.wait_for_load_state("networkidle", timeout=SETTLE_TIMEOUT_MS)
            page.evaluate(FONTS_READY)
            self.run_axe(page, site, where)
            if mobile:
                self.check_reflow(page, site, where, MOBILE["width"])
            self.check_skip_link(page, site, where)
        except Exception as exc:  # a timeout or crash is a finding, not a stop
            self.add(site, where, "page-load", f"{type(exc).__name__}: {str(exc)[:300]}")
        for error in events.errors:
            self.add(site, where, "script-error", error)
        for failure in events.failed:
            self.add(site, where, "failed-request", failure)
        self.notes.extend(
            f"[{site.name}] {where}: external request to {h}" for h in events.external
        )


def check_a11y(
    sites: Sequence[Site], browser: Browser, *, per_type: int = 2, only: Collection[str] = ()
) -> GateResult:
    """Run axe and the keyboard check on every page type of every site.

    `only` (URL paths) narrows the pages visited, for tests of one page.
    """
    axe_js = find_axe_js()
    checker = _Checker()
    pages = 0
    kinds: set[str] = set()
    for site in sites:
        targets = choose_pages(site, per_type)
        search = search_results_target(site)
        if search:
            targets.append(("search_results", search))
        targets.append(("not_found", site.base_path + UNKNOWN_PATH))
        if only:
            targets = [(kind, path) for kind, path in targets if path in only]
        pages += len(targets)
        kinds.update(kind for kind, _ in targets)
        for label, viewport, mobile in (("1280px", DESKTOP, False), ("390px", MOBILE, True)):
            context = browser.new_context(
                viewport=viewport,  # type: ignore[arg-type]
                is_mobile=mobile,
                has_touch=mobile,
                locale="de-DE",
                reduced_motion="reduce",
                service_workers="block",
            )
            try:
                context.set_default_timeout(PAGE_TIMEOUT_MS)
                # Injected natively into every document before its own scripts:
                # far faster than add_script_tag with 500 kB per page.
                context.add_init_script(path=str(axe_js))
                page = context.new_page()
                events = _PageEvents(site.origin)
                page.on("pageerror", events.on_page_error)
                page.on("console", events.on_console)
                page.on("response", events.on_response)
                page.on("requestfailed", events.on_request_failed)
                for _kind, path in targets:
                    checker.check_page(page, events, site, path, label, mobile)
            finally:
                context.close()
    summary = (
        f"{len(checker.findings)} violations on {pages} pages at 1280 px and 390 px "
        f"({len(kinds)} page types, {len(sites)} builds; axe-core {checker.axe_version or '?'}, "
        "WCAG 2.1 A+AA; skip link, reflow, script errors)"
    )
    return GateResult(GATE, summary, checker.findings, notes=sorted(set(checker.notes)))
