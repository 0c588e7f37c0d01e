"""Serve built trees with Debian's nginx on loopback, like production does.

Input: `Site` values (tree + base URL). Output: the same sites with their
serving origin set, while a private nginx runs; it is stopped by its own pid
when the `serve` context ends, failures included.

Each site gets the server block of `nginx.conf.template` (the configuration
the deployment docs give) on its own free port of 127.0.0.1; the gate only
adds the process-level settings (pid file, logs, temp paths in a private
folder) that let nginx run without touching /etc/nginx or /var.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from gates.core import Site
from gates.tools import MIME_TYPES, find_nginx

TEMPLATE = Path(__file__).resolve().parent / "nginx.conf.template"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0

_MAIN_CONFIG = """\
# Written by the quality gates (python -m gates): a private nginx.
daemon off;
master_process on;
worker_processes 1;
{user}
pid {work}/nginx.pid;
error_log {work}/error.log warn;

events {{
    worker_connections 128;
}}

http {{
    include {mime_types};
    default_type application/octet-stream;
    sendfile on;
    access_log {work}/access.log;
    client_body_temp_path {work}/client_body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;

{servers}
}}
"""


class ServerError(RuntimeError):
    """nginx could not be configured, started or stopped."""


def render_server_block(
    *, listen: str, server_name: str, root: Path, base_path: str, template: Path = TEMPLATE
) -> str:
    """The documented server block with its placeholders filled in."""
    if not (base_path.startswith("/") and base_path.endswith("/")):
        raise ServerError(f"base path must start and end with '/': {base_path!r}")
    text = template.read_text(encoding="utf-8")
    values = {
        "listen": listen,
        "server_name": server_name,
        "root": str(root.resolve()).rstrip("/"),
        "base_path": base_path,
    }
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", value)
    if "{{" in text:
        raise ServerError(f"unfilled placeholder in {template}")
    return text


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_listening(name: str, port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"{name} exited with status {proc.returncode} while starting")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.5)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise ServerError(f"{name} did not listen on 127.0.0.1:{port} within {START_TIMEOUT:.0f} s")


def stop_by_pid(name: str, proc: subprocess.Popen[bytes], graceful: signal.Signals) -> None:
    """Stop a server by its own pid: the graceful signal, then terminate, then kill."""
    for sig, wait in ((graceful, STOP_TIMEOUT), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        if proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=wait)
    if proc.poll() is None:
        raise ServerError(f"{name} (pid {proc.pid}) did not stop")


@contextlib.contextmanager
def run_in_foreground(
    name: str,
    command: Sequence[str],
    workdir: Path,
    served: Sequence[Site],
    stop: Callable[[subprocess.Popen[bytes]], None],
) -> Iterator[None]:
    """Start a web server that stays in the foreground, wait until every served site's port
    listens (naming its error.log when it does not), and stop it with ``stop`` afterwards."""
    with (workdir / f"{name}.out").open("wb") as log:
        proc = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        try:
            try:
                deadline = time.monotonic() + START_TIMEOUT
                for site in served:
                    _wait_listening(name, int(site.origin.rsplit(":", 1)[1]), proc, deadline)
            except ServerError as exc:
                error_log = workdir / "error.log"
                detail = error_log.read_text(errors="replace")[-2000:] if error_log.exists() else ""
                raise ServerError(f"{exc}\n{detail}".strip()) from None
            yield
        finally:
            stop(proc)


def _stop(proc: subprocess.Popen[bytes], pid_file: Path) -> None:
    """Stop nginx by its own pid (the one its pid file names): graceful quit first."""
    with contextlib.suppress(OSError, ValueError):
        recorded = int(pid_file.read_text().strip())
        if recorded != proc.pid:
            raise ServerError(f"nginx pid file says {recorded}, started {proc.pid}")
    stop_by_pid("nginx", proc, signal.SIGQUIT)


@contextlib.contextmanager
def serve(
    sites: Sequence[Site], *, ports: Sequence[int] = (), workdir: Path | None = None
) -> Iterator[list[Site]]:
    """Serve every site on its own loopback port; yield them with origins set.

    `ports` (one per site) are used when given, else free ones are taken.
    The trees must exist: the server block includes the redirect rules each
    build writes (`_server/redirects.nginx.conf`), and nginx reads them when it
    starts. A build whose base URL names the port is made first, on a port
    chosen with `free_port`.
    """
    nginx = find_nginx()
    names = [site.name for site in sites]
    if len(set(names)) != len(names):
        raise ServerError(f"site names must be unique: {names}")
    if ports and len(ports) != len(sites):
        raise ServerError("give one port per site, or none")
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gates-nginx-")))
        workdir.mkdir(parents=True, exist_ok=True)
        served: list[Site] = []
        blocks: list[str] = []
        for index, site in enumerate(sites):
            port = ports[index] if ports else free_port()
            origin = f"http://127.0.0.1:{port}"
            served.append(site.served_at(origin))
            blocks.append(
                render_server_block(
                    listen=f"127.0.0.1:{port}",
                    server_name="localhost",
                    root=site.root,
                    base_path=site.base_path,
                )
            )
        # As root, nginx's workers would switch to `nobody`, who may not read
        # the trees (pytest's tmp dirs are private): keep them as root then.
        user = "user root;" if os.geteuid() == 0 else ""
        config = workdir / "nginx.conf"
        config.write_text(
            _MAIN_CONFIG.format(
                user=user,
                work=workdir,
                mime_types=MIME_TYPES,
                servers="\n".join(blocks),
            ),
            encoding="utf-8",
        )
        base_cmd = [nginx, "-p", str(workdir), "-c", str(config), "-e", str(workdir / "error.log")]
        test = subprocess.run(
            [*base_cmd, "-t", "-q"], capture_output=True, text=True, timeout=30, check=False
        )
        if test.returncode != 0:
            raise ServerError(f"nginx rejects the configuration {config}:\n{test.stderr.strip()}")
        with run_in_foreground(
            "nginx", base_cmd, workdir, served, lambda proc: _stop(proc, workdir / "nginx.pid")
        ):
            yield served
