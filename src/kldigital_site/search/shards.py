"""Which pages the search indexes and how they are split into shards.

Input: the ``Site``. Output: the ``SearchPage``s to index, the shard of each
URL, the number of shards and the folders of their bundles. Kept apart from
the indexer so that the views can name the merged bundles without loading
Pagefind's client, asyncio or threads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from typing import NamedTuple

from kldigital_site.model import RouteKind, Site

BUNDLE_DIR = "pagefind"
SHARD_PREFIX = "teil-"  # pagefind/teil-1/ …: visible in addresses, so German
# Pages per shard on average before the shards double: Pagefind needs about
# 1 s for 300 pages, and every shard costs the browser two requests when the
# search page opens and one or two per search.
SHARD_PAGES = 500
# Route kinds whose pages are search results (search/indexer.py explains why
# lists are not).
INDEXED_KINDS = frozenset({RouteKind.PROJECT, RouteKind.PRESS_RELEASE, RouteKind.PAGE})


class SearchPage(NamedTuple):
    """One page to index: its site URL, its output file and where it comes from. A named
    tuple: 10,000 made in every build at 10,000 items (issue 15)."""

    url: str  # "/projekte/dritte-orte/": site path, base path is added in the browser
    output_path: str  # "projekte/dritte-orte/index.html"
    origin: str  # content file, for error messages


def search_pages(site: Site) -> list[SearchPage]:
    """The published detail pages of ``site``, in route order."""
    items = site.items
    # A preview (serve, build --preview) is for those who approve: there the search
    # finds drafts and embargoed releases too, labelled (docs/search.md).
    preview = site.config.preview
    # One pass of plain tests over the 30,000 routes of 10,000 items, no call per route.
    return [
        SearchPage("/" + route.url, route.output_path, route.origin)
        for route in site.routes
        if route.kind in INDEXED_KINDS
        and route.item is not None
        and (preview or not (items[route.item].is_draft or items[route.item].is_future))
    ]


# --- shards ------------------------------------------------------------------------


def _url_hash(url: str) -> int:
    # SHA-256, not hash(): the same in every process, on every machine.
    return int.from_bytes(hashlib.sha256(url.encode("utf-8")).digest()[:8], "big")


def shard_of(url: str, count: int) -> int:
    """The shard of the page at ``url`` when there are ``count`` (a power of two).

    The hash's low bits: when ``count`` doubles, shard s only splits into s
    and s + count, and a new page changes only its own shard.
    """
    return _url_hash(url) % count


def shard_count(urls: Collection[str]) -> int:
    """How many shards: a power of two, at most ``SHARD_PAGES`` pages per shard on average.

    Never a shard without pages: Pagefind writes no usable bundle for one.
    With hundreds of pages per shard that cannot happen in practice; with
    the tiny shards of a test it can, and then there are fewer shards.
    """
    return _count([_url_hash(url) for url in urls])


def shard_numbers(urls: Sequence[str]) -> tuple[int, list[int]]:
    """``shard_count(urls)`` and the shard of each URL, in order: each URL hashed once,
    not twice (10,000 hashes take ~12 ms, issue 15)."""
    hashes = [_url_hash(url) for url in urls]
    count = _count(hashes)
    return count, [value % count for value in hashes]


def _count(hashes: Sequence[int]) -> int:
    count = 1
    while count * SHARD_PAGES < len(hashes):
        count *= 2
    while count > 1 and len({value % count for value in hashes}) < count:
        count //= 2
    return count


def shard_dir(number: int) -> str:
    """Output folder of a shard's bundle: ``pagefind/``, ``pagefind/teil-1/``, …"""
    return f"{BUNDLE_DIR}/" if number == 0 else f"{BUNDLE_DIR}/{SHARD_PREFIX}{number}/"


def merged_bundles(site: Site) -> list[str]:
    """Folders of the shards the search page merges into the first (none for one shard)."""
    count = shard_count([page.url for page in search_pages(site)])
    return [shard_dir(number) for number in range(1, count)]
