"""`python -m gates`: build the sample and fixture sites, serve them, run every gate.

Input: the repository (content/, tests/fixtures/sites/full/content,
templates/) and the tools `.ci/install-system-deps.sh` installs. Output:
trees, screenshots and a full report in output-gates/; one summary line per
gate on stdout; exit status 0 (no findings), 1 (findings or a failed build)
or 2 (a tool is missing or the gates themselves broke).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import yaml

from gates import a11y, apache, feeds, html, links, screenshots
from gates.browser import launch
from gates.core import DEFAULT_OUTPUT, GateResult, Site, limited
from gates.server import ServerError, free_port, serve
from gates.tools import MissingTool, find_all, version_of

REPO = Path(__file__).resolve().parent.parent
FULL_FIXTURE = Path("tests/fixtures/sites/full/content")
BUILD_TIMEOUT = 600.0
SHOWN_PER_GATE = 60
GATE_NAMES = ("html", "links", "feed", "sitemap", "apache", "a11y", "screenshots")


@dataclass(frozen=True, slots=True)
class Build:
    """One build the gates check: which content, which options, which gates extra."""

    name: str
    content: Path
    flags: tuple[str, ...] = ()
    #: Serve under this sub-path, built with --base-url http://127.0.0.1:PORT<sub_path>.
    sub_path: str | None = None
    #: Pages per page type for the a11y gate (0: the a11y gate skips this build).
    a11y_per_type: int = 0
    screenshots: bool = False


BUILDS: tuple[Build, ...] = (
    Build("sample", Path("content"), a11y_per_type=2, screenshots=True),
    Build("sample-sub", Path("content"), sub_path="/sub/"),
    Build("full", FULL_FIXTURE, ("--drafts", "--future"), a11y_per_type=2),
    Build("full-published", FULL_FIXTURE),
)


class GateFailure(RuntimeError):
    """The gates could not run (as opposed to: they ran and found problems)."""


def configured_base_url(content: Path) -> str:
    """`base_url` from the content's site.yaml (what a build without --base-url uses)."""
    config = content / "site.yaml"
    try:
        data = yaml.safe_load(config.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise GateFailure(f"cannot read base_url from {config}: {exc}") from exc
    base_url = data.get("base_url") if isinstance(data, dict) else None
    if not isinstance(base_url, str) or not base_url:
        raise GateFailure(f"{config} has no base_url")
    return base_url if base_url.endswith("/") else base_url + "/"


def build_site(build: Build, site: Site, *, explicit_base_url: bool) -> tuple[bool, str]:
    """Run `kldigital-site build` for one site; (ok, what it printed)."""
    if site.root.exists():
        shutil.rmtree(site.root)
    site.root.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "kldigital_site", "build",
        "--content", str(build.content), "--output", str(site.root), "--no-cache",
        *build.flags,
    ]  # fmt: skip
    if explicit_base_url:
        command += ["--base-url", site.base_url]
    try:
        done = subprocess.run(
            command, cwd=REPO, capture_output=True, text=True,
            timeout=BUILD_TIMEOUT, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        return False, f"timed out after {BUILD_TIMEOUT:.0f} s: {' '.join(command)}"
    output = (done.stdout + done.stderr).strip()
    if done.returncode != 0 or not (site.root / "index.html").is_file():
        return False, f"exit {done.returncode}: {' '.join(command)}\n{output}"
    return True, output


def _plan(builds: Sequence[Build], output: Path) -> tuple[list[Site], list[int]]:
    sites: list[Site] = []
    ports: list[int] = []
    for build in builds:
        if not (REPO / build.content / "site.yaml").is_file():
            raise GateFailure(f"{build.content}/site.yaml not found: no content to build")
        port = free_port()
        if build.sub_path:
            base_url = f"http://127.0.0.1:{port}{build.sub_path}"
        else:
            base_url = configured_base_url(REPO / build.content)
        sites.append(Site(build.name, (REPO / output / build.name).resolve(), base_url))
        ports.append(port)
    return sites, ports


class _Report:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.lines: list[str] = []
        self.results: list[GateResult] = []

    def say(self, line: str) -> None:
        print(line, flush=True)
        self.lines.append(line)

    def gate(self, result: GateResult, seconds: float) -> None:
        self.results.append(result)
        for line in limited(result.findings, SHOWN_PER_GATE):
            print(f"{result.gate}: {line}", flush=True)
        self.say(result.summary_line)
        self.lines.extend(f"{result.gate}: {f}" for f in result.findings)
        self.lines.extend(f"{result.gate}: note: {n}" for n in result.notes)
        self.lines.append(f"{result.gate}: took {seconds:.1f} s")

    def write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text("\n".join(self.lines) + "\n", encoding="utf-8")


def _timed(report: _Report, gate: Callable[..., GateResult], *args: object, **kw: object) -> None:
    start = time.monotonic()
    report.gate(gate(*args, **kw), time.monotonic() - start)


def run_gates(
    builds: Sequence[Build] = BUILDS, *, output: Path = DEFAULT_OUTPUT, only: Sequence[str] = ()
) -> int:
    started = time.monotonic()
    wanted = set(only or GATE_NAMES)
    report = _Report(REPO / output / "report.txt")
    tools = find_all()
    sites, ports = _plan(builds, output)
    nginx_version = version_of([tools.nginx, "-v"])
    # Built before the server starts, as on a real host: the server block includes the
    # redirect rules each build writes into its tree (_server/), which nginx reads on start.
    build_start = time.monotonic()
    built_plan: list[tuple[Build, Site, int]] = []
    failed_builds = 0
    for build, site, port in zip(builds, sites, ports, strict=True):
        ok, printed = build_site(build, site, explicit_base_url=build.sub_path is not None)
        if ok:
            built_plan.append((build, site, port))
        else:
            failed_builds += 1
            report.say(f"build: [{site.name}] FAILED {printed}")
    build_seconds = time.monotonic() - build_start
    with serve(
        [site for _, site, _ in built_plan],
        ports=[port for _, _, port in built_plan],
        workdir=REPO / output / "nginx",
    ) as served:
        report.say(
            f"server: {nginx_version.removeprefix('nginx version: ')} serving "
            + ", ".join(f"{s.name} at {s.entry_url}" for s in served)
        )
        built = [(build, site) for (build, _, _), site in zip(built_plan, served, strict=True)]
        report.say(
            f"build: {len(built)} of {len(builds)} builds ok in {build_seconds:.1f} s ("
            + ", ".join(f"{s.name}: {len(s.html_files())} HTML files" for _, s in built)
            + ")"
        )
        all_sites = [site for _, site in built]
        if "html" in wanted:
            _timed(report, html.check_html, all_sites)
        if "links" in wanted:
            _timed(report, links.check_links, all_sites)
        if "feed" in wanted:
            _timed(report, feeds.check_feed, all_sites)
        if "sitemap" in wanted:
            _timed(report, feeds.check_sitemap, all_sites)
        if "apache" in wanted:
            # The same trees once more through Apache httpd, as examples/apache.conf says.
            _timed(report, apache.check_apache, all_sites, workdir=REPO / output / "apache")
        if wanted & {"a11y", "screenshots"}:
            with launch() as browser:
                a11y_sites = [(b, s) for b, s in built if b.a11y_per_type]
                if "a11y" in wanted:
                    for per_type in sorted({b.a11y_per_type for b, _ in a11y_sites}):
                        group = [s for b, s in a11y_sites if b.a11y_per_type == per_type]
                        _timed(report, a11y.check_a11y, group, browser, per_type=per_type)
                if "screenshots" in wanted:
                    for _build, site in (bs for bs in built if bs[0].screenshots):
                        out = REPO / output / "screenshots"
                        _timed(report, screenshots.take_screenshots, site, browser, out)
    findings = sum(len(r.findings) for r in report.results)
    failing = sorted({r.gate for r in report.results if not r.ok})
    seconds = time.monotonic() - started
    if findings or failed_builds:
        what = ", ".join(failing + (["build"] if failed_builds else []))
        report.say(
            f"gates: FAILED ({what}: {findings} findings, {failed_builds} failed builds) "
            f"in {seconds:.0f} s; full list in {output / 'report.txt'}"
        )
        status = 1
    else:
        report.say(f"gates: all {len(report.results)} passed in {seconds:.0f} s")
        status = 0
    report.write()
    return status


def _terminate(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into SystemExit so the finally blocks stop nginx and Chromium.
    raise SystemExit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gates",
        description="Build the sample and fixture sites, serve them with nginx and Apache and "
        "run the quality gates (HTML validity, links, feed, sitemap, Apache, accessibility, "
        "screenshots).",
    )
    parser.add_argument(
        "--output", type=Path, default=DEFAULT_OUTPUT, help="where builds and report go"
    )
    parser.add_argument(
        "--only", default="", help=f"comma-separated subset of: {', '.join(GATE_NAMES)}"
    )
    args = parser.parse_args(argv)
    only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = sorted(set(only) - set(GATE_NAMES))
    if unknown:
        parser.error(f"unknown gates: {', '.join(unknown)}")
    signal.signal(signal.SIGTERM, _terminate)
    try:
        return run_gates(output=args.output, only=only)
    except (MissingTool, GateFailure, ServerError) as exc:
        print(f"gates: cannot run: {exc}", file=sys.stderr)
        return 2
