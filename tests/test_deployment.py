"""Deployment: the documented server configurations and ``make deploy``.

examples/nginx.conf must stay the template the quality gates serve every build
with (gates/nginx.conf.template), filled in; ``make deploy`` must refuse to run
without a target before it builds anything.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from gates.apache import (
    EXAMPLE_LISTEN,
    EXAMPLE_ROOT,
    EXAMPLE_SERVER_NAME,
    render_virtual_host,
    virtual_host_block,
)

from tests.conftest import REPO

EXAMPLE_VALUES = {
    "listen": "80",
    "server_name": "www.herzlich-digital.de",
    "root": "/var/www/kldigital/output",
    "base_path": "/",
}


def _server_block(text: str) -> str:
    return text[text.index("\nserver {") + 1 :]


def test_nginx_example_is_the_gates_template_filled_in() -> None:
    template = (REPO / "gates" / "nginx.conf.template").read_text(encoding="utf-8")
    for key, value in EXAMPLE_VALUES.items():
        template = template.replace("{{" + key + "}}", value)
    example = (REPO / "examples" / "nginx.conf").read_text(encoding="utf-8")
    assert _server_block(example) == _server_block(template), (
        "examples/nginx.conf differs from gates/nginx.conf.template: regenerate the "
        "example's server block from the template with the values in its header"
    )


def test_apache_example_covers_what_nginx_does() -> None:
    apache = (REPO / "examples" / "apache.conf").read_text(encoding="utf-8")
    for needle in (
        "ErrorDocument 404 /404.html",
        'Header set Cache-Control "no-cache"',
        '<LocationMatch "^/assets/">',
        "max-age=31536000, immutable",
        '<LocationMatch "^/medien/">',
        "max-age=604800",
        'RewriteCond "%{REQUEST_FILENAME}.gz" -f',
        "Header set Content-Encoding gzip",
        "application/atom+xml",
        "nosniff",
        "DirectoryIndex index.html",
        "Alias /sub/",  # the documented sub-path variant
        "Include /var/www/kldigital/output/_server/redirects.apache.conf",
        "RedirectMatch 404 ^/_server/",
    ):
        assert needle in apache


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_deploy_without_target_fails_before_building(tmp_path: Path) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), "deploy", "DEPLOY_TARGET="],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "DEPLOY_TARGET=" in result.stderr and "Bitte das Ziel angeben" in result.stderr
    assert "kldigital-site build" not in result.stdout  # nothing was built


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_deploy_preview_without_target_fails_before_building() -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "-C", str(REPO), "deploy-preview", "PREVIEW_TARGET="],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "PREVIEW_TARGET=" in result.stderr and "Bitte das Ziel angeben" in result.stderr
    assert "kldigital-site build" not in result.stdout


def test_the_preview_is_published_behind_a_password() -> None:
    guide = (REPO / "docs" / "deployment.md").read_text(encoding="utf-8")
    section = guide[guide.index("## Vorschau zur Freigabe") :]
    for needle in ("make deploy-preview", "auth_basic_user_file", "AuthType Basic", "htpasswd"):
        assert needle in section


def test_the_apache_gate_serves_the_documented_virtual_host(tmp_path: Path) -> None:
    # Only the address, the host name and the folder differ from examples/apache.conf.
    root = tmp_path / "output"
    gate = render_virtual_host(
        listen="127.0.0.1:8123", server_name="127.0.0.1", root=root, base_path="/"
    )
    documented = virtual_host_block((REPO / "examples" / "apache.conf").read_text("utf-8"))
    back = (
        gate.replace("<VirtualHost 127.0.0.1:8123>", f"<VirtualHost {EXAMPLE_LISTEN}>")
        .replace("ServerName 127.0.0.1", f"ServerName {EXAMPLE_SERVER_NAME}")
        .replace(str(root.resolve()), EXAMPLE_ROOT)
    )
    assert back == documented
    assert f"Include {root.resolve()}/_server/redirects.apache.conf" in gate


def test_the_apache_example_marks_every_line_a_sub_path_changes(tmp_path: Path) -> None:
    root = tmp_path / "output"
    sub = render_virtual_host(
        listen="127.0.0.1:8123", server_name="127.0.0.1", root=root, base_path="/digital/"
    )
    active = [line.strip() for line in sub.splitlines() if not line.strip().startswith("#")]
    for line in (
        f"Alias /digital/ {root.resolve()}/",
        "RedirectMatch 301 ^/digital$ /digital/",
        "ErrorDocument 404 /digital/404.html",
        "RedirectMatch 404 ^/digital/_server/",
        '<LocationMatch "^/digital/assets/">',
        '<LocationMatch "^/digital/medien/">',
        "RewriteBase /digital/",
        f"Include {root.resolve()}/_server/redirects.apache.conf",
    ):
        assert line in active
    assert not any(line.startswith("DocumentRoot") for line in active)
    assert "ErrorDocument 404 /404.html" not in active
