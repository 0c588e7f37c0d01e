"""Write the generated tree atomically: ``Output``s → ``output/`` → ``WriteReport``.

Input: every ``Output`` of a successful render. Output: a ``WriteReport`` of the
files written, left unchanged and removed. The new tree is assembled in a
staging folder beside ``output/`` — unchanged files are hard-linked from the old
tree, so they are not rewritten — and then exchanged with ``output/`` in one
atomic ``renameat2(RENAME_EXCHANGE)``. A build that fails or is killed at any
point leaves ``output/`` as the complete old site (Lektor ``Artifact._commit``,
at tree level). Files the tool did not write survive every build; a non-empty
folder the tool did not create is refused.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from kldigital_site.errors import BuildFailed, SiteError
from kldigital_site.render import Output

MANIFEST_NAME = ".kldigital-manifest.json"
_MANIFEST_VERSION = 1


@dataclass(frozen=True, slots=True)
class WriteReport:
    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]


def staging_dir_for(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.kldigital-staging"


def read_manifest(out_dir: Path) -> dict[str, str] | None:
    """The previous build's files and hashes; None when the folder is not ours."""
    path = out_dir / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        files = data["files"]
        if data.get("version") != _MANIFEST_VERSION or not isinstance(files, dict):
            return {}
        return {str(k): str(v) for k, v in files.items()}
    except (OSError, ValueError, KeyError, TypeError):
        # A damaged manifest is never trusted: every file counts as changed.
        return {}


def check_output_dir(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise BuildFailed(
            [SiteError(str(out_dir), 0, "Das Ausgabeziel ist eine Datei, kein Ordner.")]
        )
    if out_dir.is_dir() and read_manifest(out_dir) is None and any(out_dir.iterdir()):
        raise BuildFailed(
            [
                SiteError(
                    str(out_dir),
                    0,
                    "Der Ausgabeordner ist nicht leer und wurde nicht von kldigital-site angelegt; "
                    "bitte einen leeren oder neuen Ordner angeben.",
                )
            ]
        )


def _safe_relative(path: str) -> str:
    pure = PurePosixPath(path)
    if pure.is_absolute() or any(part in ("", ".", "..") for part in path.split("/")):
        raise BuildFailed([SiteError(path, 0, "Ausgabepfad verlässt den Ausgabeordner.")])
    return pure.as_posix()


def _hash_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_tree(outputs: Iterable[Output], out_dir: Path) -> WriteReport:
    out_dir = out_dir.absolute()
    check_output_dir(out_dir)
    previous = read_manifest(out_dir) or {}
    planned: dict[str, tuple[str, Output]] = {}
    for output in outputs:
        rel = _safe_relative(output.path)
        digest = (
            _hash_bytes(output.data) if output.data is not None else _hash_file(_source(output))
        )
        planned[rel] = (digest, output)

    unchanged = sorted(
        rel
        for rel, (digest, _) in planned.items()
        if previous.get(rel) == digest and (out_dir / rel).is_file()
    )
    written = sorted(set(planned) - set(unchanged))
    removed = sorted(set(previous) - set(planned))
    if not written and not removed and out_dir.is_dir():
        return WriteReport((), tuple(unchanged), ())

    staging = staging_dir_for(out_dir)
    if staging.exists():
        shutil.rmtree(staging)  # left over from a killed build
    staging.mkdir(parents=True)
    try:
        unchanged_set = set(unchanged)
        for rel in sorted(planned):
            digest, output = planned[rel]
            target = staging / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if rel in unchanged_set:
                _link_or_copy(out_dir / rel, target)
            elif output.data is not None:
                target.write_bytes(output.data)
            else:
                shutil.copyfile(_source(output), target)
        if out_dir.is_dir():
            _keep_foreign_files(out_dir, staging, previous, planned)
        manifest = {
            "version": _MANIFEST_VERSION,
            "files": {rel: planned[rel][0] for rel in sorted(planned)},
        }
        (staging / MANIFEST_NAME).write_text(
            json.dumps(manifest, indent=0, sort_keys=True), encoding="utf-8"
        )
        _swap_into_place(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return WriteReport(tuple(written), tuple(unchanged), tuple(removed))


def _source(output: Output) -> Path:
    assert output.source is not None
    return output.source


def _link_or_copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _keep_foreign_files(
    out_dir: Path, staging: Path, previous: dict[str, str], planned: dict[str, tuple[str, Output]]
) -> None:
    """Files someone else put into output/ are carried over, never deleted."""
    for path in sorted(out_dir.rglob("*")):
        if not path.is_file() and not path.is_symlink():
            continue
        rel = path.relative_to(out_dir).as_posix()
        if rel == MANIFEST_NAME or rel in previous or rel in planned:
            continue
        target = staging / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if path.is_symlink():
            os.symlink(os.readlink(path), target)
        else:
            _link_or_copy(path, target)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _swap_into_place(staging: Path, out_dir: Path) -> None:
    if not out_dir.exists():
        os.rename(staging, out_dir)
        return
    if _exchange(staging, out_dir):
        shutil.rmtree(staging)  # now holds the old tree
        return
    # No atomic exchange on this system: two renames, with a short window.
    old = out_dir.parent / f".{out_dir.name}.kldigital-old"
    if old.exists():
        shutil.rmtree(old)
    os.rename(out_dir, old)
    os.rename(staging, out_dir)
    shutil.rmtree(old, ignore_errors=True)


def _exchange(a: Path, b: Path) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result != 0:
        errno = ctypes.get_errno()
        if errno in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: not supported here
            return False
        raise OSError(errno, os.strerror(errno), str(b))
    return True
