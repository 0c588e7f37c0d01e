"""The theme's files under content-hashed names (``assets/css/site.3f2a1c9e.css``).

Input: the settings (``templates/assets/``, the brand theme of ``site.yaml``).
Output: ``ThemeAssets``: for each theme file, by its name inside
``templates/assets/`` (``css/site.css``), the path it is published at, and the
files to publish, stylesheets and scripts minified (render/minify.py).

The name carries the first hex digits of the SHA-256 of the bytes published, so
a changed file gets a new address: servers can let browsers keep theme files for
a year (``Cache-Control: immutable``, docs/deployment.md) and a new build is
still seen at once, because every page names the new file. Templates reach the
names through ``asset('css/site.css')`` (render/templates.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from kldigital_site.config import SiteConfig
from kldigital_site.output import Output
from kldigital_site.theme import THEME_CSS, theme_css

ASSETS_DIR = "assets"
# Eight hex digits as in the example; the name around them keeps two
# files from ever sharing one address, so only a file's own versions could collide.
HASH_LENGTH = 8


@dataclass(frozen=True, slots=True)
class ThemeAssets:
    paths: Mapping[str, str] = field(default_factory=dict)  # "css/site.css" → published path
    outputs: tuple[Output, ...] = ()


def asset_files(config: SiteConfig) -> list[str]:
    """Theme files under templates/assets/, relative to that folder, sorted."""
    root = config.templates_dir / ASSETS_DIR
    if not root.is_dir():
        return []
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not p.name.startswith(".")
    )


def template_digests(templates_dir: Path) -> dict[str, str]:
    """Digest of every template file (theme assets excluded), by template name."""
    digests = {}
    for path in sorted(templates_dir.rglob("*")):
        rel = path.relative_to(templates_dir).as_posix()
        if path.is_file() and not rel.startswith(f"{ASSETS_DIR}/"):
            digests[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def theme_assets(config: SiteConfig) -> ThemeAssets:
    """Every theme file with its published path, plus the brand stylesheet (``theme:``)."""
    # Here, not at the top: a build that finds nothing changed reads this module
    # (``asset_files``) but minifies nothing, and minify_html takes a while to load.
    from kldigital_site.render.minify import minify_asset

    root = config.templates_dir / ASSETS_DIR
    files = [(name, (root / name).read_bytes()) for name in asset_files(config)]
    if config.theme is not None:
        files.append((THEME_CSS, theme_css(config.theme)))
    paths: dict[str, str] = {}
    outputs: list[Output] = []
    for name, data in files:
        if config.minify:
            data = minify_asset(name, data)
        path = f"{ASSETS_DIR}/{hashed_name(name, data)}"
        paths[name] = path
        outputs.append(Output(path, data=data))
    return ThemeAssets(paths, tuple(outputs))


def hashed_name(name: str, data: bytes) -> str:
    """``css/site.css`` → ``css/site.3f2a1c9e.css``: the hash before the last suffix, so
    that servers still see the type (``.css``) at the end."""
    digest = hashlib.sha256(data).hexdigest()[:HASH_LENGTH]
    path = PurePosixPath(name)
    if not path.suffix:
        return f"{name}.{digest}"
    return str(path.with_name(f"{path.stem}.{digest}{path.suffix}"))
