"""Precompressed copies beside the text files of the site (``index.html.gz``, ``.br``).

Input: an output path and its bytes. Output: the compressed siblings to publish
beside it, which nginx (``gzip_static``, ``brotli_static``) and Apache send
instead of compressing every answer anew (docs/deployment.md).

Only what browsers load while visiting the site: pages, stylesheets, scripts,
feeds, the sitemap and SVG, from ``MIN_SIZE`` bytes on (below, the headers
cost more than the bytes saved; nginx's ``gzip_min_length`` is the same). The
journalists' files (``.txt``, ``.eml``, ``.vcf``) are left out: two of them
per release would add two siblings each, a third more files for every
incremental build to keep in step, for downloads that are rare and small.
Pagefind's bundle (``pagefind/``) is left alone: its index files are gzipped
by Pagefind already, and the rest is loaded only by the search page.

Siblings are outputs like any other: the ``TreeWriter`` lists them, keeps them
while their file is unchanged and removes them with it. They are made where
the file is made, for pages in the worker process that rendered the page.

Levels, measured as CPU time per page on the fixture's pages (6.5 kB) and the
benchmark corpus's (14 kB), with the sizes of the results:

=========  =====================  ======================
level      fixture                corpus
=========  =====================  ======================
gzip 4     2,138 B   0.110 ms     3,899 B   0.183 ms
gzip 6     2,104 B   0.119 ms     3,859 B   0.221 ms
brotli 4   2,002 B   0.101 ms     3,871 B   0.173 ms
brotli 5   1,884 B   0.121 ms     3,625 B   0.235 ms
=========  =====================  ======================

Brotli 4 was hardly smaller than gzip (on the corpus not at all); brotli 5 is
6 % smaller for a fifth more time, and nearly every browser asks for brotli.
Gzip, for the few that do not, goes from 6 to 4: 1–2 % larger, a sixth faster.
Both together cost what gzip 6 and brotli 4 did. Brotli 11 takes 30 ms a page.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterable, Sequence

import brotli

from kldigital_site.output import TreeWriter
from kldigital_site.search.shards import BUNDLE_DIR

SUFFIXES = (".gz", ".br")
MIN_SIZE = 1024
GZIP_LEVEL = 4
BROTLI_QUALITY = 5
TEXT_SUFFIXES = frozenset({".html", ".css", ".js", ".mjs", ".json", ".xml", ".svg"})

Sibling = tuple[str, bytes]  # output path, bytes
_BUNDLE_PREFIX = f"{BUNDLE_DIR}/"


def compressible(path: str) -> bool:
    """A text file that gets compressed siblings, at whatever size."""
    if path.startswith(_BUNDLE_PREFIX):
        return False
    dot = path.rfind(".")
    return dot > path.rfind("/") and path[dot:] in TEXT_SUFFIXES


def siblings(path: str, data: bytes) -> tuple[Sibling, ...]:
    """``path.gz`` and ``path.br`` for a text file of at least ``MIN_SIZE`` bytes."""
    if len(data) < MIN_SIZE or not compressible(path):
        return ()
    # mtime=0 and no file name in the header: the same bytes on every build.
    zipped = gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)
    return (
        (f"{path}.gz", zipped),
        (f"{path}.br", brotli.compress(data, quality=BROTLI_QUALITY)),
    )


def add_siblings(
    writer: TreeWriter, path: str, data: bytes | None, made: Sequence[Sibling] | None = None
) -> None:
    """The siblings of a file just added to ``writer``: ``made`` when the worker made them;
    for a file unchanged since the last build, those published with it; else made from
    ``data`` or, when that is None (a file copied from its source), the staged file."""
    if not compressible(path):
        return
    if made is None:
        if writer.add_published(path, SUFFIXES):
            return
        unchanged = writer.planned_digest(path) == writer.previous_digests.get(path)
        if data is None:
            size = writer.published_size(path) if unchanged else None
            if size is not None and size < MIN_SIZE:
                return  # too small for siblings: known without reading it
            data = writer.staged_reader(path)()
        made = siblings(path, data)
    for sibling, zipped in made:
        writer.add(sibling, digest=hashlib.sha256(zipped).hexdigest(), data=zipped)


def add_kept_siblings(writer: TreeWriter, paths: Iterable[str]) -> None:
    """``add_siblings`` for files just added as they are published
    (``TreeWriter.add_as_published``): in one step where their siblings are published
    too, one by one where not."""
    for path in writer.add_published_siblings(filter(compressible, paths), SUFFIXES):
        add_siblings(writer, path, None)
