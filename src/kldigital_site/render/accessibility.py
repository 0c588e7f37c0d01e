"""Template views of the accessibility pages and links (docs/templates.md).

Input: ``Site`` and, for one plain page, its ``Item``. Output: plain mappings: the
header and footer links every page shows (Leichte Sprache, Gebärdensprache,
"Barriere melden"), the prepared ``mailto:`` of one page, and the extra parts of
the Leichte Sprache page, the Gebärdensprache page (videos with size and
duration), the accessibility statement and the Impressum (from ``site.yaml``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from kldigital_site.accessibility.fields import (
    EASY_LANGUAGE_PAGE,
    IMPRESSUM_PAGE,
    SIGN_LANGUAGE_PAGE,
    STATEMENT_PAGE,
)
from kldigital_site.accessibility.media_info import (
    duration_text,
    iso_duration,
    size_text,
    video_seconds,
)
from kldigital_site.accessibility.requirements import (
    REQUIRED_PAGES,
    STATEMENT_ENTRIES,
    VIDEO_TYPES,
    feedback_email,
    find_page,
)
from kldigital_site.model import Item, Site
from kldigital_site.render.dates import date_long
from kldigital_site.typography import smarten

CONFORMANCE = {
    "vollständig": "vollständig vereinbar",
    "teilweise": "teilweise vereinbar",
    "nicht": "nicht vereinbar",
}


def site_links(site: Site, href: Callable[[str], str]) -> dict[str, Any]:
    """The URLs of the required pages (None where a page is missing) and the feedback address."""
    urls: dict[str, str | None] = {}
    for required, name in zip(
        REQUIRED_PAGES,
        ("impressum", "privacy", "statement", "easy_language", "sign_language"),
        strict=True,
    ):
        item = find_page(site, required)
        urls[name] = href(item.url) if item is not None else None
    return {**urls, "feedback_email": feedback_email(site)}


def feedback_mailto(email: str, title: str, url: str) -> str:
    """A prepared e-mail naming the page: no form, no script, no service of another host."""
    subject = f"Barriere melden: {title}"
    body = (
        f"Seite: {title}\r\nAdresse: {url}\r\n\r\n"
        "Welche Barriere ist Ihnen aufgefallen? Bitte beschreiben Sie sie hier:\r\n\r\n"
    )
    return f"mailto:{email}?subject={quote(subject, safe='')}&body={quote(body, safe='')}"


def page_extras(
    site: Site,
    item: Item,
    href: Callable[[str], str],
    contact: Callable[[str], Mapping[str, Any]],
    phone_uri: Callable[[str], str],
) -> dict[str, Any]:
    """What a plain page shows beyond its text, by which page it is (every key, always:
    templates are strict about undefined names)."""
    key, config = item.key, site.config
    extras: dict[str, Any] = {
        "easy_language": key == EASY_LANGUAGE_PAGE,
        "videos": None,
        "statement": None,
        "impressum": None,
    }
    if key == SIGN_LANGUAGE_PAGE:
        extras["videos"] = [_video(site, video, href) for video in item.meta.get("videos") or ()]
    elif key == STATEMENT_PAGE and _is_typed(item):
        extras["statement"] = _statement(site, item, href, contact)
    elif key == IMPRESSUM_PAGE and config.impressum is not None:
        extras["impressum"] = _impressum(config.impressum, phone_uri)
    return extras


def _is_typed(item: Item) -> bool:
    """A statement with any of its fields; one without is shown as a plain page (and
    accessibility/requirements.py asks for the fields)."""
    return bool(item.meta.get("known_issues")) or any(
        item.meta.get(key) is not None for key in STATEMENT_ENTRIES
    )


def _video(site: Site, video: Mapping[str, Any], href: Callable[[str], str]) -> dict[str, Any]:
    path = site.config.content_dir / video["file"]
    try:
        size: int | None = path.stat().st_size
    except OSError:
        size = None
    seconds = video_seconds(path) if path.suffix.lower() in (".mp4", ".m4v") else None
    transcript: str | None = video.get("transcript")
    is_file = transcript is not None and transcript.startswith("medien/")
    suffix = path.suffix.lower()
    return {
        "title": smarten(video["title"]),
        "url": href(video["file"]),
        "type": VIDEO_TYPES.get(suffix, "video/mp4"),
        "format": suffix.lstrip(".").upper(),
        "poster_url": href(video["poster"]) if video.get("poster") else None,
        "size": size_text(size) if size is not None else None,
        "duration": duration_text(seconds) if seconds else None,
        "duration_iso": iso_duration(seconds) if seconds else None,
        "transcript_url": href(transcript) if transcript and is_file else None,
        "transcript_text": smarten(transcript) if transcript and not is_file else None,
    }


def _statement(
    site: Site,
    item: Item,
    href: Callable[[str], str],
    contact: Callable[[str], Mapping[str, Any]],
) -> dict[str, Any]:
    meta, config = item.meta, site.config
    enforcement = dict(config.enforcement) if config.enforcement else None
    contact_id = meta.get("feedback_contact")
    email = feedback_email(site)
    conformance, prepared, reviewed = (
        meta.get("conformance"),
        meta.get("prepared"),
        meta.get("reviewed"),
    )
    return {
        "conformance": conformance,
        "conformance_text": CONFORMANCE[conformance] if conformance else None,
        "known_issues": [
            {
                "what": smarten(issue["what"]),
                "why": smarten(issue["why"]),
                "alternative": smarten(issue["alternative"]) if issue.get("alternative") else None,
            }
            for issue in meta.get("known_issues") or ()
        ],
        "prepared": date_long(prepared) if prepared else None,
        "prepared_iso": prepared.isoformat() if prepared else None,
        "reviewed": date_long(reviewed) if reviewed else None,
        "reviewed_iso": reviewed.isoformat() if reviewed else None,
        "review_method": smarten(meta["review_method"]) if meta.get("review_method") else None,
        "feedback_contact": contact(contact_id)
        if contact_id and contact_id in site.contacts
        else None,
        "feedback_mailto": feedback_mailto(email, item.title, config.base_url + item.url)
        if email
        else None,
        "enforcement": enforcement,
    }


def _impressum(data: Mapping[str, Any], phone_uri: Callable[[str], str]) -> dict[str, Any]:
    responsible = data.get("responsible_for_content")
    phone = data.get("phone")
    return {
        "name": data.get("name"),
        "legal_form": data.get("legal_form"),
        "address": list(data.get("address") or ()),
        "representatives": list(data.get("representatives") or ()),
        "register_court": data.get("register_court"),
        "register_number": data.get("register_number"),
        "vat_id": data.get("vat_id"),
        "email": data.get("email"),
        "phone": phone,
        "phone_uri": phone_uri(phone) if phone else None,
        "responsible_for_content": {
            "name": responsible["name"],
            "address": list(responsible["address"]),
        }
        if responsible
        else None,
    }
