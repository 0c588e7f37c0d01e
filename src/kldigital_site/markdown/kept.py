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

Stored as ``marshal`` values in the cache (``BuildCache.blobs``): plain tuples and
strings, which build nothing but themselves when loaded (unlike pickle) and load in
one call each; their checksums and shapes are checked, and anything that does not
pass is simply not used. The bodies are spread over ``_SHARDS`` values by key, and a
build stores again only those whose bodies changed: one value for all of them meant
writing 6 MB into the cache after every edit at 10,000 items (50 ms, issue 15). Each
value names the links it was made under, so one left from an older build is used only
while the links are still those.
"""

from __future__ import annotations

import hashlib
import marshal
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from kldigital_site.cache import BuildCache
from kldigital_site.errors import Severity, SiteError
from kldigital_site.markdown.bodies import BodyInfo
from kldigital_site.markdown.renderer import BodyImage
from kldigital_site.model import Site

_FORMAT = 2  # what the stored tuple looks like; another one is not read


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


# One set of values for every output folder: the links key says whether they hold,
# wherever the site lies (a CI's cache restored into another checkout, docs/deployment.md).
_PREFIX = "bodies/"
# About 300 bodies each at 10,000 items: an edit stores 200 kB again, not 6 MB.
_SHARDS = 32


def _shard(key: str) -> int:
    return zlib.crc32(key.encode()) % _SHARDS


def _name(shard: int) -> str:
    return f"{_PREFIX}{shard:02d}"


@dataclass(frozen=True, slots=True)
class KeptBodies:
    """The infos as stored, and each one's stored row: a body still the same is stored
    again as it was read, not encoded anew (``keep_bodies``); and which bodies each
    shard held, so that a shard whose bodies are all as they were is not stored again."""

    links: str
    infos: dict[str, BodyInfo]
    rows: dict[str, tuple[Any, ...]]
    keys: dict[int, list[str]]  # per shard read, its bodies in their stored order


def kept_bodies(cache: BuildCache, links: str) -> KeptBodies | None:
    """The infos the last builds stored under the links ``links`` (None: not one)."""
    infos: dict[str, BodyInfo] = {}
    rows: dict[str, tuple[Any, ...]] = {}
    keys: dict[int, list[str]] = {}
    for name, payload in cache.blobs(_PREFIX).items():
        try:
            form, stored_links, shard, stored = marshal.loads(payload)
            if form != _FORMAT or stored_links != links or name != _name(shard):
                continue
            # Most bodies have no problems and no images: their row, (key, paragraph, (),
            # digest, ()), is their info's very fields (``_row``), taken as they are.
            made = {
                row[0]: BodyInfo._make(row) if row[2] == () and row[4] == () else _info(*row)
                for row in stored
            }
        except (ValueError, TypeError, IndexError, EOFError):
            continue  # not what ``keep_bodies`` wrote: made again, never trusted
        infos.update(made)
        rows.update((row[0], row) for row in stored)
        keys[shard] = [row[0] for row in stored]
    return KeptBodies(links, infos, rows, keys) if keys else None


def keep_bodies(
    cache: BuildCache, links: str, infos: Iterable[BodyInfo], last: KeptBodies | None
) -> None:
    """Store the infos of a build that succeeded, for the next (``kept_bodies``); ``last``:
    those this build took from the last one. Only the shards whose bodies differ from
    those ``last`` read are stored: those of the bodies made anew or gone, and the
    shards it did not read (damaged, missing). The others are not even sorted into
    shards: an edit at 10,000 items changes one or two (20 ms, issue 15)."""
    # A file saved while it was read is read again next time (bodies.py): not kept.
    kept = {
        info.key: info
        for info in infos
        if not info.problems or not any(p.is_error for p in info.problems)
    }
    reusable = last if last is not None and last.links == links else None
    known = reusable.infos if reusable is not None else {}
    stored = reusable.keys if reusable is not None else {}
    made = [key for key, info in kept.items() if known.get(key) is not info]
    changed = {n for n in range(_SHARDS) if n not in stored}
    changed.update(map(_shard, made))
    changed.update(map(_shard, known.keys() - kept.keys()))
    fresh: dict[int, list[str]] = {n: [] for n in changed}
    for key in made:
        if key not in known:
            fresh[_shard(key)].append(key)
    payloads = {}
    for n in sorted(changed):
        members = [key for key in stored.get(n, ()) if key in kept] + fresh[n]
        rows = tuple(
            reusable.rows[key]
            if reusable is not None and known.get(key) is kept[key]
            else _row(kept[key])
            for key in members
        )
        payloads[_name(n)] = marshal.dumps((_FORMAT, links, n, rows))
    cache.store_blobs(payloads)


def _info(key: str, paragraph: str, problems: Any, digest: str, images: Any) -> BodyInfo:
    """The info of a stored row (``_row``) with problems or images."""
    return BodyInfo(
        key,
        paragraph,
        tuple(SiteError(p, ln, m, Severity(s)) for p, ln, m, s in problems),
        digest,
        tuple(BodyImage(*image) for image in images),
    )


def _row(info: BodyInfo) -> tuple[Any, ...]:
    return (
        info.key,
        info.first_paragraph,
        tuple((p.path, p.line, p.message, p.severity.value) for p in info.problems),
        info.links_digest,
        tuple((i.url, i.alt, i.caption, i.credit, i.line) for i in info.images),
    )
