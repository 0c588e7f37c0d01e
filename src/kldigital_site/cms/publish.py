"""/admin/ of the built site, for ``cms:`` in site.yaml: Decap on a Git backend.

Input: ``SiteConfig`` (its ``cms`` settings, the content folder for the
generated configuration). Output: the files of ``admin/`` (page, generated
``config.yml``, the Decap bundle with its licences) as ``Output``s, or a
problem when the bundle is not installed. Without ``cms:`` there is nothing:
no file of the CMS reaches ``output/``.

The page carries its own CSP as a meta tag (a static server may add none): it
allows the CMS to talk to the Git host and to nothing else.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from kldigital_site.config import CmsSettings, SiteConfig
from kldigital_site.errors import SiteError, Staged
from kldigital_site.output import Output

if TYPE_CHECKING:
    from kldigital_site.cms.config import GitBackend

ADMIN_DIR = "admin"
# Where the hosted services are when site.yaml names no instance of its own.
_DEFAULT_BASE = {"github": "https://github.com", "gitlab": "https://gitlab.com"}
_API_PATH = {"gitlab": "/api/v4", "gitea": "/api/v1"}


def git_backend(cms: CmsSettings) -> GitBackend:
    """The backend of Decap's configuration; a self-hosted GitLab or Gitea needs
    its API address, which follows from its base address unless given."""
    from kldigital_site.cms.config import GitBackend  # as in ``cms_outputs``

    api_root = cms.api_root
    if api_root is None and cms.base_url and cms.backend in _API_PATH:
        api_root = cms.base_url.rstrip("/") + _API_PATH[cms.backend]
    return GitBackend(cms.backend, cms.repo, cms.branch, cms.base_url, cms.app_id, api_root)


def git_hosts(cms: CmsSettings) -> tuple[str, ...]:
    """The origins the CMS talks to: the Git host's login and API, nothing else."""
    backend = git_backend(cms)
    urls = [backend.base_url or _DEFAULT_BASE.get(cms.backend), backend.api_root]
    if cms.backend == "github":
        urls += ["https://api.github.com", "https://avatars.githubusercontent.com"]
    origins = set()
    for url in urls:
        if url:
            parts = urlsplit(url)
            origins.add(f"{parts.scheme}://{parts.netloc}")
    return tuple(sorted(origins))


def cms_outputs(config: SiteConfig) -> Staged[tuple[Output, ...]]:
    cms = config.cms
    if cms is None:
        return Staged(())
    # Imported here: every build asks, few sites have a CMS, and the forms and the
    # page cost a command-line build ~3.5 ms to import (issue 15).
    from kldigital_site.cms.config import cms_config, config_yaml
    from kldigital_site.cms.page import (
        ADMIN_SCRIPT,
        BUNDLE_SCRIPT,
        OWN_SCRIPT,
        admin_page,
        bundle_dir,
        content_security_policy,
    )

    bundle = bundle_dir(config.root)
    if bundle is None:
        missing = SiteError(
            config.settings_path,
            cms.line,
            "„cms“: Die Redaktionsoberfläche (Decap CMS) ist nicht installiert: "
            "bitte „make cms“ ausführen.",
        )
        return Staged((), (missing,))
    generated = cms_config(config.content_dir, git_backend(cms), site_url=config.base_url)
    csp = content_security_policy(git_hosts(cms), meta=True)
    page = admin_page(config.title).replace(
        '<meta charset="utf-8">',
        f'<meta charset="utf-8">\n<meta http-equiv="Content-Security-Policy" content="{csp}">',
        1,
    )
    outputs = [
        Output(f"{ADMIN_DIR}/index.html", data=page.encode()),
        Output(f"{ADMIN_DIR}/config.yml", data=config_yaml(generated).encode()),
        Output(f"{ADMIN_DIR}/{OWN_SCRIPT}", data=ADMIN_SCRIPT.encode()),
    ]
    for path in sorted(bundle.iterdir()):
        if path.name == BUNDLE_SCRIPT or path.suffix in (".js", ".wasm", ".txt"):
            outputs.append(Output(f"{ADMIN_DIR}/{path.name}", source=path))
        elif path.name == "LICENSE":
            outputs.append(Output(f"{ADMIN_DIR}/LICENSE.txt", source=path))
    return Staged(tuple(outputs))
