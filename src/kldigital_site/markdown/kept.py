"""The bodies' infos of the last build, taken as they are while the links read the same.

Input: the model (``Site``), the sources' digests and the cache. Output: per body
key the ``BodyInfo`` (first paragraph, problems, links digest, images) the last
build made, for ``render_bodies``' ``known``.

A body's key covers its text, its file, the settings it renders with and the
tool's version (bodies.py ``_body_key``); what else its rendering reads is the
model's addresses: where its links lead (``link_resolver``), what they may have
meant (``link_advice``) and the type and size of the downloads they name
(``download_labeller``). ``links_key`` hashes exactly those. While it is the
last build's, every body of an unchanged key renders as it did then, so its
info is taken without decoding its cached summary and resolving its links
again: 10,000 of them were a tenth of an edit build at 10,000 items (issue 15).
A title change keeps the addresses, so it keeps the bodies too.

Stored as one ``marshal`` value in the cache (``BuildCache.blob``): plain
tuples and strings, which build nothing but themselves when loaded (unlike
pickle) and load in one call; its checksum and its shape are checked, and
anything that does not pass is simply not used.
"""

from __future__ import annotations

import hashlib
import marshal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kldigital_site.cache import BuildCache
from kldigital_site.errors import Severity, SiteError
from kldigital_site.markdown.bodies import BodyInfo
from kldigital_site.markdown.renderer import BodyImage
from kldigital_site.model import Site

_FORMAT = 1  # what the stored tuple looks like; another one is not read


def links_key(site: Site, digests: Mapping[str, str]) -> str:
    """Everything a body's rendering reads of the model (module docstring), as one digest.

    The media files count with their digests: a download's label shows its size."""
    media = sorted((m.content_path, digests.get(m.rel_path, "")) for m in site.media)
    parts = (
        site.config.base_path,
        "\n".join(f"{path}\0{url}" for path, url in sorted(site.url_of_content.items())),
        "\n".join(sorted(site.file_urls)),
        "\n".join(sorted(site.route_urls)),
        "\n".join(sorted(site.withheld_urls)),
        "\n".join(f"{path}\0{digest}" for path, digest in media),
    )
    return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()


# One value for every output folder: the links key says whether it holds, wherever the
# site lies (a CI's cache restored into another checkout, docs/deployment.md).
_BLOB = "bodies"


@dataclass(frozen=True, slots=True)
class KeptBodies:
    """The infos as stored, and each one's stored row: a body still the same is stored
    again as it was read, not encoded anew (``keep_bodies``)."""

    links: str
    infos: dict[str, BodyInfo]
    rows: dict[str, tuple[Any, ...]]


def kept_bodies(cache: BuildCache, links: str) -> KeptBodies | None:
    """The infos the last build stored, if they were made under the links ``links``."""
    payload = cache.blob(_BLOB)
    if payload is None:
        return None
    try:
        form, stored_links, rows = marshal.loads(payload)
        if form != _FORMAT or stored_links != links:
            return None
        infos = {
            key: BodyInfo(
                key,
                paragraph,
                tuple(SiteError(p, ln, m, Severity(s)) for p, ln, m, s in problems),
                digest,
                tuple(BodyImage(*image) for image in images),
            )
            for key, paragraph, problems, digest, images in rows
        }
        return KeptBodies(links, infos, {row[0]: row for row in rows})
    except (ValueError, TypeError, EOFError):
        return None  # not what ``keep_bodies`` wrote: made again, never trusted


def keep_bodies(
    cache: BuildCache, links: str, infos: Iterable[BodyInfo], last: KeptBodies | None
) -> None:
    """Store the infos of a build that succeeded, for the next (``kept_bodies``); ``last``:
    those this build took from the last one."""
    reusable = last if last is not None and last.links == links else None
    same = reusable is not None
    rows = []
    for info in infos:
        if any(p.is_error for p in info.problems):
            continue  # a file saved while it was read is read again next time (bodies.py)
        row = reusable.rows.get(info.key) if reusable is not None else None
        if row is None or reusable is None or reusable.infos.get(info.key) is not info:
            row = _row(info)
            same = False
        rows.append(row)
    if same and reusable is not None and len(rows) == len(reusable.rows):
        return  # every body as it was read: stored already
    cache.store_blob(_BLOB, marshal.dumps((_FORMAT, links, tuple(rows))))


def _row(info: BodyInfo) -> tuple[Any, ...]:
    return (
        info.key,
        info.first_paragraph,
        tuple((p.path, p.line, p.message, p.severity.value) for p in info.problems),
        info.links_digest,
        tuple((i.url, i.alt, i.caption, i.credit, i.line) for i in info.images),
    )
