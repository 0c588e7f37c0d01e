"""Images in rendered bodies → ``<picture>`` with caption and credit.

Input: a body's sanitised HTML, its ``BodyImage``s (in document order) and a function
giving the picture view of one (``Views.picture``). Output: the HTML with each local
image replaced: an image alone in its paragraph becomes a ``<figure>`` with the
caption and credit beneath, an image inside text a ``<picture>`` followed by its
credit. The markup is that of ``templates/partials/picture.html``; body images
always load lazily (the lead image is the one with priority).
"""

from __future__ import annotations

import re
from collections import defaultdict, deque
from collections.abc import Callable, Sequence
from html import escape, unescape
from typing import Any

from kldigital_site.markdown.renderer import BodyImage

BODY_SIZES = "(min-width: 64em) 46rem, 100vw"
_LAZY = 'loading="lazy" decoding="async"'
# nh3 writes attributes double-quoted and escaped: a regular expression reads them.
_IMG = re.compile(r"(<p>)?<img ([^>]*?)\s*/?>(</p>)?")
_ATTRIBUTE = re.compile(r'([a-z-]+)="([^"]*)"')


def picture_html(view: dict[str, Any], sizes: str, class_: str = "") -> str:
    cls = f' class="{class_}"' if class_ else ""
    size = f' width="{view["width"]}" height="{view["height"]}"' if view.get("width") else ""
    alt = escape(view["alt"])
    if not view["sources"]:
        return f'<img{cls} src="{escape(view["fallback"])}"{size} alt="{alt}" {_LAZY}>'
    parts = [f"<picture{cls}>"]
    for source in view["sources"]:
        parts.append(
            f'<source type="{source["type"]}" srcset="{escape(source["srcset"])}" sizes="{sizes}">'
        )
    srcset = (
        f' srcset="{escape(view["fallback_srcset"])}" sizes="{sizes}"'
        if view["fallback_srcset"]
        else ""
    )
    parts.append(f'<img src="{escape(view["fallback"])}"{srcset}{size} alt="{alt}" {_LAZY}>')
    parts.append("</picture>")
    return "\n".join(parts)


def caption_html(view: dict[str, Any]) -> str:
    parts = []
    if view.get("caption"):
        parts.append(f'<span class="figure-caption">{escape(view["caption"])}</span>')
    if view.get("credit"):
        parts.append(f'<small class="credit">{escape(view["credit"])}</small>')
    return f"<figcaption>{' '.join(parts)}</figcaption>" if parts else ""


def with_pictures(
    html: str,
    images: Sequence[BodyImage],
    view_of: Callable[[BodyImage], dict[str, Any] | None],
) -> str:
    if not images:
        return html
    queues: dict[str, deque[BodyImage]] = defaultdict(deque)
    for image in images:
        queues[image.url].append(image)

    def replace(match: re.Match[str]) -> str:
        attributes = {k: unescape(v) for k, v in _ATTRIBUTE.findall(match[2])}
        queue = queues.get(attributes.get("src", ""))
        if not queue:
            return match[0]
        image = queue.popleft()
        view = view_of(image)
        if view is None:
            return match[0]
        if match[1] and match[3]:  # alone in its paragraph: a figure
            figure = picture_html(view, BODY_SIZES) + "\n" + caption_html(view)
            return f'<figure class="body-image">\n{figure}</figure>'
        credit = (
            f' <small class="credit">({escape(view["credit"])})</small>'
            if view.get("credit")
            else ""
        )
        inline = picture_html(view, BODY_SIZES, "inline-picture")
        return f"{match[1] or ''}{inline}{credit}{match[3] or ''}"

    return _IMG.sub(replace, html)
