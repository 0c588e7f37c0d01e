"""``/admin/`` of the preview: request → response, without a socket.

Input: method, path, the request headers, the body and the client's address.
Output: an ``AdminResponse``: the admin page, the generated ``config.yml``,
the Decap bundle, or the answer of the local backend (``/admin/api/v1``).

Who may write (decap-server answers every origin; this endpoint does not):

* only clients on loopback;
* only with a ``Host`` that is the address the preview listens on: a page
  that rebinds its own DNS name to 127.0.0.1 sends that name, and would pass
  an origin check that trusted ``Host``;
* backend requests only with the preview's own ``Origin``: another site open
  in the same browser must not write into ``content/``; and only as JSON, so
  no HTML form can send one.
"""

from __future__ import annotations

import ipaddress
import json
import mimetypes
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

from kldigital_site.cms.backend import LocalBackend as Backend
from kldigital_site.cms.backend import Refused
from kldigital_site.cms.config import LocalBackend, cms_config, config_yaml
from kldigital_site.cms.page import (
    ADMIN_SCRIPT,
    MISSING_BUNDLE_PAGE,
    OWN_SCRIPT,
    admin_page,
    bundle_dir,
    bundle_file,
    content_security_policy,
)
from kldigital_site.cms.validate import problems_of_change

PREFIX = "/admin"
API_PATH = "/admin/api/v1"
MAX_BODY = 64 * 1024 * 1024  # a press photo as base64, with room to spare

_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".wasm": "application/wasm",
    ".txt": "text/plain; charset=utf-8",
}


@dataclass(slots=True)
class AdminResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


def is_admin_path(path: str) -> bool:
    return path == PREFIX or path.startswith(PREFIX + "/")


class AdminEndpoint:
    """The CMS of the preview for one site, at one listening address."""

    def __init__(
        self,
        content_dir: Path,
        templates_dir: Path,
        *,
        origin: str,
        hosts: Iterable[str],
        site_title: Callable[[], str] = lambda: "Website",
    ) -> None:
        self.content_dir = content_dir.resolve()
        self.templates_dir = templates_dir
        self.origin = origin
        self.hosts = frozenset(h.lower() for h in hosts)
        self.origins = frozenset(f"http://{h}" for h in self.hosts)
        self.site_title = site_title
        self.backend = Backend(
            self.content_dir.parent,
            lambda changes: problems_of_change(self.content_dir, self.templates_dir, changes),
        )

    def respond(
        self,
        method: str,
        path: str,
        header: Callable[[str], str | None],
        body: bytes,
        client: str,
    ) -> AdminResponse:
        refusal = self._refusal(method, path, header, client)
        if refusal is not None:
            return _text(refusal, HTTPStatus.FORBIDDEN)
        if path == API_PATH:
            if method != "POST":
                return AdminResponse(HTTPStatus.METHOD_NOT_ALLOWED, [("Allow", "POST")])
            return self._api(body)
        if method not in ("GET", "HEAD"):
            return AdminResponse(HTTPStatus.METHOD_NOT_ALLOWED, [("Allow", "GET, HEAD")])
        if path == PREFIX:
            return AdminResponse(HTTPStatus.FOUND, [("Location", PREFIX + "/")])
        name = path[len(PREFIX) + 1 :]
        bundle = bundle_dir(self.content_dir.parent)
        if name in ("", "index.html"):
            if bundle is None:
                return self._page(MISSING_BUNDLE_PAGE.encode(), "text/html; charset=utf-8")
            return self._page(admin_page(self.site_title()).encode(), "text/html; charset=utf-8")
        if name.startswith("medien/"):
            # Images in the form's preview: their values are relative to content/.
            return self._media(name)
        if name == OWN_SCRIPT:
            return self._page(ADMIN_SCRIPT.encode(), _TYPES[".js"])
        if name == "config.yml":
            config = cms_config(self.content_dir, LocalBackend(self.origin + API_PATH))
            return self._page(config_yaml(config).encode(), "text/yaml; charset=utf-8")
        file = bundle_file(bundle, name) if bundle is not None else None
        if file is None:
            return _text("Nicht gefunden.", HTTPStatus.NOT_FOUND)
        content_type = _TYPES.get(file.suffix, "application/octet-stream")
        return self._page(file.read_bytes(), content_type)

    def _refusal(
        self, method: str, path: str, header: Callable[[str], str | None], client: str
    ) -> str | None:
        try:
            loopback = ipaddress.ip_address(client.split("%")[0]).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            return "Die Redaktion ist nur auf diesem Rechner erreichbar."
        host = (header("Host") or "").lower()
        if host not in self.hosts:
            return f"Unbekannte Adresse „{host}“: bitte {self.origin}{PREFIX}/ öffnen."
        if method == "POST":
            if header("Origin") not in self.origins:
                return "Schreibzugriff nur von der Vorschau selbst."
            content_type = (header("Content-Type") or "").split(";")[0].strip().lower()
            if content_type != "application/json":
                return "Anfragen an die Redaktion müssen JSON sein."
        return None

    def _api(self, body: bytes) -> AdminResponse:
        try:
            request = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return _json(HTTPStatus.UNPROCESSABLE_ENTITY, {"error": "Ungültiges JSON."})
        status, answer = self.backend.handle(request)
        return _json(status, answer)

    def _media(self, name: str) -> AdminResponse:
        try:
            path = self.backend.resolve(f"content/{name}")
        except Refused:
            return _text("Nicht gefunden.", HTTPStatus.NOT_FOUND)
        if not path.is_file():
            return _text("Nicht gefunden.", HTTPStatus.NOT_FOUND)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        if path.suffix.lower() == ".svg":
            content_type = "image/svg+xml"
        return self._page(path.read_bytes(), content_type)

    def _page(self, body: bytes, content_type: str) -> AdminResponse:
        return AdminResponse(HTTPStatus.OK, _headers(content_type), body)


def _headers(content_type: str) -> list[tuple[str, str]]:
    return [
        ("Content-Type", content_type),
        ("Cache-Control", "no-store"),
        ("X-Content-Type-Options", "nosniff"),
        ("Content-Security-Policy", content_security_policy()),
        ("Referrer-Policy", "no-referrer"),
    ]


def _json(status: int, value: object) -> AdminResponse:
    body = json.dumps(value, ensure_ascii=False).encode()
    return AdminResponse(status, _headers("application/json"), body)


def _text(message: str, status: int) -> AdminResponse:
    return AdminResponse(status, _headers("text/plain; charset=utf-8"), message.encode() + b"\n")
