"""Apache gate: serve the built trees with Debian's Apache httpd, as documented.

Input: `Site` values whose trees are built. Output: `serve` yields the same
sites with their serving origin set, while a private apache2 runs in the
foreground; it is stopped by its own pid when the context ends, failures
included. `check_apache` is the gate: a `GateResult` for the served sites.

Each site gets the `<VirtualHost>` of `examples/apache.conf` (the
configuration docs/deployment.md gives to admins, many municipal hosters run
Apache) on its own port of 127.0.0.1: `render_virtual_host` changes only the
address, the host name and the folder, and for a sub-path build applies the
lines the example marks "Sub-path". The gate adds the process-level settings
(modules, pid file, logs, an empty global DocumentRoot) that let apache2 run
without /etc/apache2 or /var.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from gates import feeds, links
from gates.core import Finding, GateResult, Site
from gates.links import Fetcher
from gates.server import ServerError, free_port, run_in_foreground, stop_by_pid
from gates.tools import find_apache, version_of

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "apache.conf"
#: What examples/apache.conf is filled in for; the gate puts its own values there.
EXAMPLE_LISTEN = "*:80"
EXAMPLE_SERVER_NAME = "www.herzlich-digital.de"
EXAMPLE_ROOT = "/var/www/kldigital/output"
# The example's sub-path, /sub, wherever it is followed by / or the end of a pattern ($).
_EXAMPLE_SUB_PATH = re.compile(r"/sub(?=[/$])")
MODULES_DIR = Path("/usr/lib/apache2/modules")
# What the example needs (mod_dir, mod_mime, mod_alias, mod_headers, mod_deflate with
# mod_filter for AddOutputFilterByType, mod_authz_core for Require) and the MPM; Debian
# builds mod_unixd and mod_log_config into the binary (`apache2 -l`).
MODULES = (
    ("mpm_event_module", "mod_mpm_event.so"),
    ("authz_core_module", "mod_authz_core.so"),
    ("dir_module", "mod_dir.so"),
    ("mime_module", "mod_mime.so"),
    ("alias_module", "mod_alias.so"),
    ("headers_module", "mod_headers.so"),
    ("filter_module", "mod_filter.so"),
    ("deflate_module", "mod_deflate.so"),
    # The precompressed .br/.gz files: RewriteRule, and SetEnv no-gzip for them.
    ("rewrite_module", "mod_rewrite.so"),
    ("env_module", "mod_env.so"),
)
_SUB_PATH_MARK = re.compile(r"^\s*# Sub-path: (?P<line>.+)$")

_MAIN_CONFIG = """\
# Written by the quality gates (python -m gates): a private Apache httpd.
ServerRoot "{work}"
DefaultRuntimeDir "{work}"
PidFile "{work}/apache2.pid"
Mutex file:{work} default
ErrorLog "{work}/error.log"
LogLevel warn
{modules}
{user}
ServerName 127.0.0.1
TypesConfig /etc/mime.types
LogFormat "%h %t \\"%r\\" %>s %b" gates
CustomLog "{work}/access.log" gates
# A sub-path site keeps the host's DocumentRoot: here an empty folder.
DocumentRoot "{work}/empty"
<Directory />
    Options None
    AllowOverride None
    Require all denied
</Directory>
<Directory "{work}/empty">
    Require all granted
</Directory>
{listens}

{hosts}
"""


def virtual_host_block(text: str) -> str:
    """The `<VirtualHost>` … `</VirtualHost>` part of a configuration."""
    start = text.index("<VirtualHost ")
    end = text.index("</VirtualHost>", start) + len("</VirtualHost>")
    return text[start:end] + "\n"


def render_virtual_host(
    *, listen: str, server_name: str, root: Path, base_path: str, example: Path = EXAMPLE
) -> str:
    """The documented `<VirtualHost>`, filled in; for a sub-path its marked lines applied."""
    if not (base_path.startswith("/") and base_path.endswith("/")):
        raise ServerError(f"base path must start and end with '/': {base_path!r}")
    block = virtual_host_block(example.read_text(encoding="utf-8"))
    lines: list[str] = []
    pending: list[str] = []
    for line in block.splitlines():
        mark = _SUB_PATH_MARK.match(line)
        if mark is not None:
            pending.append(line[: line.index("#")] + mark["line"])
            lines.append(line)
            continue
        if pending and base_path != "/":
            lines.extend(_EXAMPLE_SUB_PATH.sub(base_path.rstrip("/"), p) for p in pending)
        else:
            lines.append(line)
        pending = []
    text = "\n".join(lines) + "\n"
    # Longest first: the sub-path lines name the folder with a final slash.
    text = text.replace(f"<VirtualHost {EXAMPLE_LISTEN}>", f"<VirtualHost {listen}>")
    text = text.replace(f"ServerName {EXAMPLE_SERVER_NAME}", f"ServerName {server_name}")
    return text.replace(EXAMPLE_ROOT, str(root.resolve()).rstrip("/"))


@contextlib.contextmanager
def serve(sites: Sequence[Site], *, workdir: Path | None = None) -> Iterator[list[Site]]:
    """Serve every built site on its own loopback port; yield them with origins set.

    As root, Apache's workers run as `nobody` (Apache refuses to serve as
    root), so the trees must be readable by everyone.
    """
    apache = find_apache()
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gates-apache-")))
            # The workers (nobody, as root) reach the empty global DocumentRoot inside.
            workdir.chmod(0o711)
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "empty").mkdir(exist_ok=True)
        served: list[Site] = []
        listens: list[str] = []
        hosts: list[str] = []
        for site in sites:
            port = free_port()
            served.append(site.served_at(f"http://127.0.0.1:{port}"))
            listens.append(f"Listen 127.0.0.1:{port}")
            hosts.append(
                render_virtual_host(
                    listen=f"127.0.0.1:{port}",
                    server_name="127.0.0.1",
                    root=site.root,
                    base_path=site.base_path,
                )
            )
        modules = "\n".join(f"LoadModule {name} {MODULES_DIR / file}" for name, file in MODULES)
        config = workdir / "apache2.conf"
        config.write_text(
            _MAIN_CONFIG.format(
                work=workdir,
                modules=modules,
                user="User nobody\nGroup nogroup" if os.geteuid() == 0 else "",
                listens="\n".join(listens),
                hosts="\n".join(hosts),
            ),
            encoding="utf-8",
        )
        base_cmd = [apache, "-d", str(workdir), "-f", str(config)]
        test = subprocess.run(
            [*base_cmd, "-t"], capture_output=True, text=True, timeout=30, check=False
        )
        if test.returncode != 0:
            raise ServerError(f"apache2 rejects the configuration {config}:\n{test.stderr.strip()}")
        # Graceful stop is SIGWINCH for apache2 (SIGQUIT is not one of its signals).
        with run_in_foreground(
            "apache2",
            [*base_cmd, "-DFOREGROUND"],
            workdir,
            served,
            lambda proc: stop_by_pid("apache2", proc, signal.SIGWINCH),
        ):
            yield served


# --- the gate ----------------------------------------------------------------------------

GATE = "apache"
#: Headers of what the example configures, per kind of file (first file of its kind found).
_HEADER_CHECKS = (
    # (what, glob in the tree, Content-Type starts with, Cache-Control must contain)
    ("page", "index.html", "text/html; charset=utf-8", "no-cache"),
    # Hashed names (render/assets.py): kept for a year.
    ("stylesheet", "assets/**/*.css", "text/css", "max-age=31536000, immutable"),
    ("media file", "medien/**/*.*", "", "max-age=604800"),
    ("release as e-mail", "**/pressemitteilung.eml", "message/rfc822", "no-cache"),
    ("contact card", "kontakt/*.vcf", "text/vcard", "no-cache"),
)


def _check_headers(site: Site, fetcher: Fetcher, findings: list[Finding]) -> int:
    """Content types, caching and nosniff of one file of each kind; how many were checked."""
    checked = 0
    for what, pattern, content_type, cache in _HEADER_CHECKS:
        files = sorted(p for p in site.root.glob(pattern) if p.is_file())
        if not files:
            continue
        rel = files[0].relative_to(site.root).as_posix()
        url = site.entry_url + ("" if rel == "index.html" else rel)
        response = fetcher.get_once(url)
        checked += 1
        where = site.base_path + rel
        if response.status != 200:
            findings.append(Finding(site.name, where, "apache-status", f"HTTP {response.status}"))
            continue
        got_type = response.headers.get("Content-Type", "")
        got_cache = response.headers.get("Cache-Control", "")
        if not got_type.startswith(content_type):
            message = f"{what}: Content-Type {got_type!r}, expected {content_type}"
            findings.append(Finding(site.name, where, "apache-type", message))
        if cache not in got_cache:
            message = f"{what}: Cache-Control {got_cache!r}, expected {cache}"
            findings.append(Finding(site.name, where, "apache-cache", message))
        if response.headers.get("X-Content-Type-Options") != "nosniff":
            findings.append(Finding(site.name, where, "apache-nosniff", f"{what}: no nosniff"))
    return checked


def check_apache(sites: Sequence[Site], *, workdir: Path | None = None) -> GateResult:
    """Serve the built sites with Apache as documented and check them as nginx is checked:
    the crawl of the links gate (every page 200, 404 page with status 404, every old
    address redirected 301 to a page that answers 200, `_server/` not served), the feed
    gate (every feed.xml as application/atom+xml), and the headers the example sets."""
    version = version_of([find_apache(), "-v"]).split("\n", 1)[0]
    version = version.removeprefix("Server version: ")
    with serve(sites, workdir=workdir) as served:
        crawl = links.check_links(served)
        feed = feeds.check_feed(served)
        fetcher = Fetcher()
        findings = [*crawl.findings, *feed.findings]
        headers = sum(_check_headers(site, fetcher, findings) for site in served)
    summary = (
        f"{len(findings)} problems with {version} serving {len(sites)} builds as "
        f"examples/apache.conf says (links: {crawl.summary}; feed: {feed.summary}; "
        f"{headers} files' types and cache headers)"
    )
    return GateResult(GATE, summary, findings, notes=crawl.notes)
