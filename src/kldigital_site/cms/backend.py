"""Decap's proxy protocol over the site's files: the preview's local backend.

Input: one request body, ``{"action": …, "params": …}`` (already parsed), and
the site root. Output: ``(status, JSON value)``, the answers of decap-server's
``localFs`` middleware (``packages/decap-server/src/middlewares/localFs``):
entries are ``{"data": text, "file": {"path", "id"}}`` with the SHA-256 of the
bytes as id, media files ``{"id", "content", "encoding": "base64", "path",
"name"}``, errors ``{"error": message}``.

Unlike decap-server, every path must lie inside ``content/`` (no ``..``, no
absolute paths, no symlinks leading out), and entries are saved or deleted
only when the build would still pass: otherwise the answer is 422 with the
build's German messages and nothing is written. Writes are atomic (a
temporary file beside the target, then ``os.replace``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from pathlib import Path
from typing import Any

from kldigital_site.cms.validate import Changes
from kldigital_site.content.discover import is_ignored_name
from kldigital_site.errors import SiteError

Answer = tuple[int, Any]
Check = Callable[[Changes], list[SiteError]]

CONTENT = "content"


class Refused(Exception):
    """A request the backend will not carry out; the message is German."""

    def __init__(self, message: str, status: int = HTTPStatus.FORBIDDEN) -> None:
        super().__init__(message)
        self.status = status


class LocalBackend:
    """The actions of Decap's proxy protocol on ``<site root>/content``."""

    def __init__(self, site_root: Path, check: Check) -> None:
        self.root = site_root.resolve()
        self.content = self.root / CONTENT
        self._content_real = os.path.realpath(self.content)
        self.check = check

    def handle(self, request: Any) -> Answer:
        if not isinstance(request, Mapping) or not isinstance(request.get("action"), str):
            return HTTPStatus.UNPROCESSABLE_ENTITY, {"error": "Ungültige Anfrage."}
        params = request.get("params")
        params = params if isinstance(params, Mapping) else {}
        action = request["action"]
        handler = _ACTIONS.get(action)
        if handler is None:
            return HTTPStatus.UNPROCESSABLE_ENTITY, {"error": f"Unknown action {action}"}
        try:
            return HTTPStatus.OK, handler(self, params)
        except Refused as refused:
            return refused.status, {"error": str(refused)}
        except OSError as exc:  # a full disk, a read-only folder: said, not a traceback
            message = f"Nicht gespeichert: {exc.strerror or exc}"
            return HTTPStatus.INTERNAL_SERVER_ERROR, {"error": message}

    # -- paths -------------------------------------------------------------------

    def resolve(self, rel: Any) -> Path:
        """A path of the request, relative to the site root, inside ``content/``."""
        if not isinstance(rel, str) or not rel:
            raise Refused("Pfad fehlt.", HTTPStatus.UNPROCESSABLE_ENTITY)
        parts = rel.split("/")
        if (
            rel.startswith("/")
            or "\\" in rel
            or "\x00" in rel
            or any(part in ("", ".", "..") for part in parts)
            or parts[0] != CONTENT
        ):
            raise Refused(f"„{rel}“ liegt nicht im Ordner content/.")
        path = self.root.joinpath(*parts)
        # Symlinks (of the file or of any folder on the way) must not lead out.
        real = os.path.realpath(path)
        inside = self._content_real
        if real == inside or os.path.commonpath([real, inside]) != inside:
            raise Refused(f"„{rel}“ führt aus dem Ordner content/ hinaus.")
        return path

    def _content_rel(self, rel: str) -> str:
        return rel[len(CONTENT) + 1 :]

    # -- reading -----------------------------------------------------------------

    def entries_by_folder(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        folder = self.resolve(params.get("folder"))
        extension = params.get("extension") or ""
        depth = params.get("depth", 1)
        depth = depth if isinstance(depth, int) else 1
        files = [
            path
            for path in self._list(folder, depth)
            if isinstance(extension, str) and path.endswith(extension)
        ]
        return [self._entry(path) for path in files]

    def entries_by_files(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        files = params.get("files")
        if not isinstance(files, Sequence):
            raise Refused("files fehlt.", HTTPStatus.UNPROCESSABLE_ENTITY)
        return [self._entry(f.get("path") if isinstance(f, Mapping) else None, f) for f in files]

    def get_entry(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return self._entry(params.get("path"))

    def get_media(self, params: Mapping[str, Any]) -> list[dict[str, Any]]:
        folder = self.resolve(params.get("mediaFolder"))
        return [self._media(path) for path in self._list(folder, 1)]

    def get_media_file(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return self._media(params.get("path"))

    def _list(self, folder: Path, depth: int) -> list[str]:
        found: list[str] = []

        def walk(current: Path, left: int) -> None:
            if left <= 0:
                return
            try:
                entries = sorted(os.scandir(current), key=lambda e: e.name)
            except OSError:
                return
            for entry in entries:
                if is_ignored_name(entry.name):
                    continue
                path = Path(entry.path)
                rel = path.relative_to(self.root).as_posix()
                try:
                    self.resolve(rel)
                except Refused:
                    continue  # a symlink leading out is not listed
                if entry.is_dir():
                    walk(path, left - 1)
                elif entry.is_file():
                    found.append(rel)

        walk(folder, depth)
        return found

    def _entry(self, rel: Any, file: Mapping[str, Any] | None = None) -> dict[str, Any]:
        path = self.resolve(rel)
        described: dict[str, Any] = {"path": rel}
        if file is not None and isinstance(file.get("label"), str):
            described["label"] = file["label"]
        try:
            data = path.read_bytes()
        except OSError:
            return {"data": None, "file": {**described, "id": None}}
        described["id"] = hashlib.sha256(data).hexdigest()
        return {"data": data.decode("utf-8", errors="replace"), "file": described}

    def _media(self, rel: Any) -> dict[str, Any]:
        path = self.resolve(rel)
        try:
            data = path.read_bytes()
        except OSError:
            raise Refused(f"„{rel}“ gibt es nicht.", HTTPStatus.NOT_FOUND) from None
        return {
            "id": hashlib.sha256(data).hexdigest(),
            "content": base64.b64encode(data).decode("ascii"),
            "encoding": "base64",
            "path": rel,
            "name": path.name,
        }

    # -- writing -----------------------------------------------------------------

    def persist_entry(self, params: Mapping[str, Any]) -> dict[str, Any]:
        entry = params.get("entry")
        data_files = params.get("dataFiles") or ([entry] if entry is not None else [])
        if not isinstance(data_files, Sequence) or not data_files:
            raise Refused("Keine Datei zum Speichern.", HTTPStatus.UNPROCESSABLE_ENTITY)
        writes: dict[Path, bytes] = {}
        changes: dict[str, bytes | None] = {}
        for item in data_files:
            if not isinstance(item, Mapping) or not isinstance(item.get("raw"), str):
                raise Refused("Ungültige Datei.", HTTPStatus.UNPROCESSABLE_ENTITY)
            rel = item.get("newPath") or item.get("path")
            path = self.resolve(rel)
            raw = item["raw"].encode("utf-8")
            writes[path] = raw
            changes[self._content_rel(str(rel))] = raw
            old = item.get("path")
            if item.get("newPath") and old != rel:
                changes[self._content_rel(str(old))] = None
                self.resolve(old)
        assets = params.get("assets") or []
        for asset in assets if isinstance(assets, Sequence) else []:
            path, data = self._asset(asset)
            writes[path] = data
            changes[self._content_rel(path.relative_to(self.root).as_posix())] = data
        self._refuse_if_broken(changes)
        for path, data in writes.items():
            _write_atomic(path, data)
        for rel, new in changes.items():
            if new is None:
                self.content.joinpath(rel).unlink(missing_ok=True)
        return {"message": "entry persisted"}

    def persist_media(self, params: Mapping[str, Any]) -> dict[str, Any]:
        path, data = self._asset(params.get("asset"))
        _write_atomic(path, data)
        return self._media(path.relative_to(self.root).as_posix())

    def delete_file(self, params: Mapping[str, Any]) -> dict[str, Any]:
        rel = params.get("path")
        self._delete([rel])
        return {"message": f"deleted file {rel}"}

    def delete_files(self, params: Mapping[str, Any]) -> dict[str, Any]:
        paths = params.get("paths")
        if not isinstance(paths, Sequence) or isinstance(paths, str):
            raise Refused("paths fehlt.", HTTPStatus.UNPROCESSABLE_ENTITY)
        self._delete(list(paths))
        return {"message": f"deleted files {', '.join(str(p) for p in paths)}"}

    def _delete(self, rels: Sequence[Any]) -> None:
        targets = [self.resolve(rel) for rel in rels]
        self._refuse_if_broken({self._content_rel(str(rel)): None for rel in rels})
        for path in targets:
            path.unlink(missing_ok=True)

    def _asset(self, asset: Any) -> tuple[Path, bytes]:
        if not isinstance(asset, Mapping) or not isinstance(asset.get("content"), str):
            raise Refused("Ungültige Mediendatei.", HTTPStatus.UNPROCESSABLE_ENTITY)
        path = self.resolve(asset.get("path"))
        try:
            if asset.get("encoding") == "base64":
                data = base64.b64decode(asset["content"], validate=True)
            else:
                data = asset["content"].encode("utf-8")
        except (binascii.Error, ValueError):
            raise Refused("Ungültige Mediendatei.", HTTPStatus.UNPROCESSABLE_ENTITY) from None
        return path, data

    def _refuse_if_broken(self, changes: Changes) -> None:
        problems = self.check(changes)
        if problems:
            raise Refused(
                "Nicht gespeichert: " + "\n".join(str(p) for p in problems),
                HTTPStatus.UNPROCESSABLE_ENTITY,
            )

    def info(self, params: Mapping[str, Any]) -> dict[str, Any]:
        return {"repo": self.root.name, "publish_modes": ["simple"], "type": "local_fs"}

    def get_deploy_preview(self, params: Mapping[str, Any]) -> None:
        return None


_ACTIONS: dict[str, Callable[[LocalBackend, Mapping[str, Any]], Any]] = {
    "info": LocalBackend.info,
    "entriesByFolder": LocalBackend.entries_by_folder,
    "entriesByFiles": LocalBackend.entries_by_files,
    "getEntry": LocalBackend.get_entry,
    "persistEntry": LocalBackend.persist_entry,
    "getMedia": LocalBackend.get_media,
    "getMediaFile": LocalBackend.get_media_file,
    "persistMedia": LocalBackend.persist_media,
    "deleteFile": LocalBackend.delete_file,
    "deleteFiles": LocalBackend.delete_files,
    "getDeployPreview": LocalBackend.get_deploy_preview,
}


def _write_atomic(path: Path, data: bytes) -> None:
    """The whole new file or the old one, never half of it (also after a crash)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # A dot name: the watcher and the build ignore it while it is being written.
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
