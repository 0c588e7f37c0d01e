"""``kldigital-site status``: what is published, what is a draft, what goes live when.

Input: ``SiteConfig`` and the time that counts as "now". Output: a
``StatusReport`` — one ``StatusEntry`` per project, press release and page,
with its ``Publication`` state and, for embargoed releases, the time it goes
live — plus the problems of files that could not be read. ``format_status``
turns it into the German listing the command prints.

The rule is the build's (``model.py``): a draft is never published without
``--drafts``; a press release dated after "now" (``date`` with a time, site
time zone) is published by the first build from that time on.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from zoneinfo import ZoneInfo

from kldigital_site.config import SiteConfig
from kldigital_site.content.discover import SourceKind, discover
from kldigital_site.content.parse import Document, parse_source
from kldigital_site.errors import SiteError, os_reason, sort_problems
from kldigital_site.model import collation_key, publication_time
from kldigital_site.render.dates import date_long, date_short, date_time_long


class Publication(StrEnum):
    PUBLISHED = "veröffentlicht"
    DRAFT = "Entwurf"
    EMBARGOED = "Sperrfrist"


@dataclass(frozen=True, slots=True)
class StatusEntry:
    kind: SourceKind
    path: str  # relative to the site root: content/presse/x.md
    title: str
    state: Publication
    date: dt.datetime | None  # press releases: publication time, aware
    has_time: bool  # the date was given with a time of day


@dataclass(frozen=True, slots=True)
class StatusReport:
    now: dt.datetime
    timezone: str
    entries: tuple[StatusEntry, ...]
    problems: tuple[SiteError, ...]

    def of(self, state: Publication) -> list[StatusEntry]:
        return [e for e in self.entries if e.state is state]

    def next_embargo(self) -> dt.datetime | None:
        times = [e.date for e in self.of(Publication.EMBARGOED) if e.date is not None]
        return min(times, default=None)


_KIND_ORDER = {SourceKind.PRESS: 0, SourceKind.PROJECT: 1, SourceKind.PAGE: 2}
KIND_LABELS = {
    SourceKind.PRESS: "Pressemitteilung",
    SourceKind.PROJECT: "Projekt",
    SourceKind.PAGE: "Seite",
}


def collect_status(config: SiteConfig, now: dt.datetime) -> StatusReport:
    zone = ZoneInfo(config.timezone)
    discovery = discover(config.content_dir, config.root)
    problems = [p for p in discovery.problems if p.is_error]
    entries: list[StatusEntry] = []
    for source in discovery.value:
        if source.kind not in _KIND_ORDER:
            continue
        try:
            parsed = parse_source(source, source.path.read_bytes())
        except OSError as exc:
            problems.append(SiteError(source.rel_path, 0, f"Datei nicht lesbar: {os_reason(exc)}"))
            continue
        problems.extend(parsed.problems)
        if isinstance(parsed.value, Document) and not parsed.has_errors:
            entries.append(_entry(parsed.value, zone, now))
    entries.sort(key=_sort_key)
    return StatusReport(now, config.timezone, tuple(entries), tuple(sort_problems(problems)))


def _entry(doc: Document, zone: ZoneInfo, now: dt.datetime) -> StatusEntry:
    date: dt.datetime | None = None
    raw = doc.meta.get("date")
    if doc.kind is SourceKind.PRESS and isinstance(raw, dt.date):
        date = publication_time(raw, zone)
    if doc.meta.get("draft"):
        state = Publication.DRAFT
    elif date is not None and date > now:
        state = Publication.EMBARGOED
    else:
        state = Publication.PUBLISHED
    return StatusEntry(
        doc.kind, doc.rel_path, str(doc.meta["title"]), state, date, isinstance(raw, dt.datetime)
    )


def _sort_key(entry: StatusEntry) -> tuple[int, float, str, str]:
    # Embargoes soonest first; everything else newest first, then by title.
    timestamp = entry.date.timestamp() if entry.date else 0.0
    order = timestamp if entry.state is Publication.EMBARGOED else -timestamp
    return (_KIND_ORDER[entry.kind], order, collation_key(entry.title), entry.path)


# --- the listing ------------------------------------------------------------------


def _when(entry: StatusEntry, zone: ZoneInfo) -> str:
    if entry.date is None:
        return ""
    local = entry.date.astimezone(zone)
    if entry.state is Publication.EMBARGOED:
        return date_time_long(local)
    return date_short(local) + (local.strftime(" %H:%M") if entry.has_time else "")


def _until(now: dt.datetime, then: dt.datetime) -> str:
    seconds = int((then - now).total_seconds())
    if seconds < 3600:
        minutes = max(1, seconds // 60)
        return f"in {minutes} Minute" + ("" if minutes == 1 else "n")
    if seconds < 2 * 86400:
        hours = seconds // 3600
        return f"in {hours} Stunde" + ("" if hours == 1 else "n")
    return f"in {seconds // 86400} Tagen"


def format_status(report: StatusReport) -> str:
    """The German listing: embargoes first (they need attention), then drafts, then the rest."""
    zone = ZoneInfo(report.timezone)
    now = report.now.astimezone(zone)
    lines = [f"Stand: {date_time_long(now)} ({report.timezone})", ""]

    embargoed = report.of(Publication.EMBARGOED)
    lines.append(f"Mit Sperrfrist ({len(embargoed)}) – erscheinen beim ersten Build ab dem Termin:")
    for e in embargoed:
        assert e.date is not None
        lines.append(f"  {_when(e, zone)} ({_until(report.now, e.date)})")
        lines.append(f"      {e.title}")
        lines.append(f"      {e.path}")
    if not embargoed:
        lines.append("  keine")

    drafts = report.of(Publication.DRAFT)
    lines += ["", f"Entwürfe ({len(drafts)}) – erscheinen erst ohne „draft: true“:"]
    lines += [f"  {KIND_LABELS[e.kind]:<17} {e.title}\n      {e.path}" for e in drafts]
    if not drafts:
        lines.append("  keine")

    published = report.of(Publication.PUBLISHED)
    lines += ["", f"Veröffentlicht ({len(published)}):"]
    for kind, label in (
        (SourceKind.PRESS, "Pressemitteilungen"),
        (SourceKind.PROJECT, "Projekte"),
        (SourceKind.PAGE, "Seiten"),
    ):
        group = [e for e in published if e.kind is kind]
        if not group:
            continue
        lines.append(f"  {label} ({len(group)}):")
        for e in group:
            when = _when(e, zone)
            lines.append(f"    {when + '  ' if when else ''}{e.title}  ({e.path})")

    next_time = report.next_embargo()
    if next_time is not None:
        lines += [
            "",
            f"Nächster Termin: {date_long(next_time.astimezone(zone))}, "
            f"{next_time.astimezone(zone):%H:%M} Uhr. Die Meldung erscheint mit dem ersten "
            "Build ab diesem Zeitpunkt (zeitgesteuerter Build: siehe docs/deployment.md).",
        ]
    return "\n".join(lines)
