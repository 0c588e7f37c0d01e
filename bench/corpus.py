"""Generate a deterministic benchmark corpus: N items, 20 % project profiles, 80 % releases.

Each item carries about 5 KB of German Markdown with headings, lists, emphasis,
a table now and then, links to other content files and topics from a fixed
pool, so that every stage of the build does realistic work. The same N and
seed always give the same bytes.

    python bench/corpus.py --items 1000 --out bench/corpus/1000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import shutil
from pathlib import Path

WORDS = [
    "Stadt",
    "Digitalisierung",
    "Bürgerinnen",
    "Bürger",
    "Projekt",
    "Verwaltung",
    "Innenstadt",
    "Mobilität",
    "Daten",
    "Beteiligung",
    "Quartier",
    "Energie",
    "Straßenbeleuchtung",
    "Sensoren",
    "Plattform",
    "Handel",
    "Lieferung",
    "Nachhaltigkeit",
    "Gesellschaft",
    "Zukunft",
    "Werkstatt",
    "Austausch",
    "Netzwerk",
    "Förderung",
    "Kommune",
    "Dienstleistung",
    "Angebot",
    "Veranstaltung",
    "Bildung",
    "Schule",
    "Kultur",
    "Freizeit",
    "Umwelt",
    "Klima",
    "Wasser",
    "Parken",
    "Verkehr",
    "Radweg",
    "Bus",
    "Bahnhof",
    "Markt",
    "Platz",
    "Park",
    "Bibliothek",
    "Rathaus",
    "Service",
    "Termin",
    "entwickelt",
    "gestaltet",
    "verbessert",
    "erprobt",
    "vernetzt",
    "öffentlich",
    "gemeinsam",
    "digital",
    "offen",
    "nachhaltig",
    "schnell",
    "einfach",
    "sicher",
    "barrierefrei",
    "lebendig",
    "modern",
    "regional",
    "städtisch",
]
TAGS = (
    "Mobilität",
    "Beteiligung",
    "Innenstadt",
    "Handel",
    "Energie",
    "Verwaltung",
    "Bildung",
    "Kultur",
    "Umwelt",
    "Daten",
    "Stadtentwicklung",
    "Gesundheit",
    "Tourismus",
    "Sicherheit",
    "Wirtschaft",
    "Wohnen",
    "Sport",
    "Soziales",
    "Klima",
    "Smart City",
)

SITE_YAML = """\
title: herzlich digital (Benchmark)
description: Generierter Korpus für Leistungsmessungen.
base_url: https://www.example.org/
language: de
timezone: Europe/Berlin
organisation:
  name: KL.digital GmbH
  url: https://www.example.org/
defaults:
  location: Kaiserslautern
  contacts: [presse]
  boilerplate: kl-digital
press_per_page: 10
"""
CONTACTS = """\
presse:
  name: Pressestelle
  organisation: KL.digital GmbH
  email: presse@example.org
  phone: +49 631 000 000
"""
BOILERPLATES = """\
kl-digital: |
  Die **KL.digital GmbH** erprobt digitale Technologien für die Stadt und berät
  öffentliche Einrichtungen. Mehr unter [www.example.org](https://www.example.org/).
"""


def _quoted(text: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(text, ensure_ascii=False)


def _sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(8, 16))]
    words[0] = words[0].capitalize()
    if rng.random() < 0.2:
        words[rng.randrange(len(words))] = f"**{rng.choice(WORDS)}**"
    if rng.random() < 0.1:
        words[rng.randrange(len(words))] = f'"{rng.choice(WORDS)}"'
    return " ".join(words) + "."


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(3, 6)))


def _body(rng: random.Random, project_slugs: list[str], target_bytes: int = 5000) -> str:
    parts: list[str] = [_paragraph(rng)]
    section = 0
    while sum(len(p.encode()) for p in parts) < target_bytes:
        roll = rng.random()
        if roll < 0.15:
            section += 1
            parts.append(f"## {rng.choice(WORDS).capitalize()} und {rng.choice(WORDS)} {section}")
        elif roll < 0.25:
            parts.append("\n".join(f"- {_sentence(rng)}" for _ in range(rng.randint(2, 5))))
        elif roll < 0.3:
            rows = "\n".join(
                f"| {rng.choice(WORDS)} | {rng.randint(1, 999)} |" for _ in range(rng.randint(2, 4))
            )
            parts.append(f"| Bereich | Anzahl |\n|---|---:|\n{rows}")
        elif roll < 0.4 and project_slugs:
            slug = rng.choice(project_slugs)
            parts.append(f"{_sentence(rng)} Mehr im [Steckbrief](../projekte/{slug}.md).")
        else:
            parts.append(_paragraph(rng))
    return "\n\n".join(parts) + "\n"


def generate(items: int, out: Path, seed: int = 20211) -> Path:
    """Write a complete site (content/ only) with ``items`` items into ``out``."""
    rng = random.Random(seed)
    content = out / "content"
    if out.exists():
        shutil.rmtree(out)
    for folder in ("projekte", "presse", "seiten", "daten"):
        (content / folder).mkdir(parents=True)
    (content / "site.yaml").write_text(SITE_YAML, encoding="utf-8")
    (content / "daten" / "kontakte.yaml").write_text(CONTACTS, encoding="utf-8")
    (content / "daten" / "presseabbinder.yaml").write_text(BOILERPLATES, encoding="utf-8")
    (content / "seiten" / "impressum.md").write_text(
        "---\ntitle: Impressum\n---\nKL.digital GmbH, Kaiserslautern.\n", encoding="utf-8"
    )
    n_projects = max(1, items // 5)
    project_slugs = [f"projekt-{i:05d}" for i in range(n_projects)]
    for i, slug in enumerate(project_slugs):
        tags = sorted(set(rng.sample(TAGS, rng.randint(1, 3))))
        smart = "true" if i % 4 == 0 else "false"
        start = dt.date(2000 + i % 26, 1 + i % 12, 1)
        (content / "projekte" / f"{slug}.md").write_text(
            f"---\ntitle: Projekt {i} {rng.choice(WORDS)} {rng.choice(WORDS)}\n"
            f"summary: {_quoted(_sentence(rng))}\nsmart_city: {smart}\n"
            f"status: {rng.choice(['geplant', 'laufend', 'abgeschlossen'])}\n"
            f"tags: [{', '.join(tags)}]\nstart: {start:%Y-%m}\n"
            f"partners: [Stadt Kaiserslautern, {rng.choice(WORDS)} e. V.]\n---\n" + _body(rng, []),
            encoding="utf-8",
        )
    first_day = dt.date(2000, 1, 1)
    for i in range(items - n_projects):
        day = first_day + dt.timedelta(days=(i * 9_490) // max(1, items - n_projects))
        slug = f"mitteilung-{i:05d}"
        tags = sorted(set(rng.sample(TAGS, rng.randint(1, 3))))
        projects = sorted(
            set(rng.sample(project_slugs, min(len(project_slugs), rng.randint(0, 2))))
        )
        (content / "presse" / f"{day.isoformat()}-{slug}.md").write_text(
            f"---\ntitle: {_quoted(f'Mitteilung {i}: {rng.choice(WORDS)} {rng.choice(WORDS)}')}\n"
            f"subtitle: {_quoted(_sentence(rng))}\ndate: {day.isoformat()}\n"
            f"tags: [{', '.join(tags)}]\nprojects: [{', '.join(projects)}]\n---\n"
            + _body(rng, project_slugs),
            encoding="utf-8",
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=1000)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=20211)
    args = parser.parse_args()
    generate(args.items, args.out, args.seed)


if __name__ == "__main__":
    main()
