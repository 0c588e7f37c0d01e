"""The image stage: every image a page shows, checked, credited and processed.

Input: ``Site`` (front-matter images and the media files), the digest of every
source, the image uses found in Markdown bodies, a cache folder and ``--jobs``.
Output: ``Media`` — per published raster image a ``Picture`` (its variants, the
published original's format, pixel size and file size, the embedded credit), the
press-photo ZIP of each release, the files to publish, and every problem as a
``SiteError`` at the line that uses the image.

Variants are cached by image content, processing parameters and Pillow version
(``variant_key``); originals by content and credit; a build whose images are all
cached decodes none. Work runs over ``--jobs`` processes (workers.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import PIL

from kldigital_site.content.discover import SourceFile
from kldigital_site.errors import SiteError, Staged, os_reason, warning
from kldigital_site.media import originals
from kldigital_site.media.facts import (
    FORMAT_LABELS,
    IMAGE_SUFFIXES,
    Facts,
    MediaProblem,
    copyright_from_credit,
    is_raster,
    read_facts,
)
from kldigital_site.media.presszip import ZipPhoto, press_zip, unique_names
from kldigital_site.media.svg import check_svg, svg_size
from kldigital_site.media.uses import ImageUse
from kldigital_site.media.variants import (
    PARAMETERS,
    DecodeProblem,
    VariantPlan,
    make_variants,
    read_variants,
)
from kldigital_site.model import Site
from kldigital_site.workers import run_parallel

# Bump when what this stage writes changes in a way the parameters do not show.
_VERSION = "1"
_FACTS_FILE = "facts.json"
# Beside each original and ZIP made: its digest and size (``_write_atomically``).
INFO_SUFFIX = ".json"

CREDIT_EXAMPLE = "„Foto: Stadt Kaiserslautern / Jana Beispiel“"


@dataclass(frozen=True, slots=True)
class Variant:
    path: str  # output path (site path without base)
    width: int
    height: int
    type: str  # MIME type
    kind: str  # webp, fallback, og


@dataclass(frozen=True, slots=True)
class Picture:
    src: str
    format: str  # label: JPG, PNG, WebP, TIFF, GIF, SVG
    width: int
    height: int
    file_size: int  # bytes of the published original
    credit: str | None  # embedded in the file
    copyright: str | None
    variants: tuple[Variant, ...] = ()

    @property
    def is_svg(self) -> bool:
        return self.format == "SVG"

    def of_kind(self, kind: str) -> tuple[Variant, ...]:
        return tuple(v for v in self.variants if v.kind == kind)


@dataclass(frozen=True, slots=True)
class PublishedFile:
    path: str
    digest: str
    source: Path


@dataclass(frozen=True, slots=True)
class Media:
    pictures: Mapping[str, Picture]
    zips: Mapping[str, PublishedFile]  # by release key
    files: tuple[PublishedFile, ...]
    decoded: frozenset[str] = frozenset()  # images whose pixels were decoded in this build
    uses: tuple[ImageUse, ...] = field(default=())


def front_matter_uses(site: Site) -> list[ImageUse]:
    uses: list[ImageUse] = []
    config = site.config
    if config.default_image:
        uses.append(
            ImageUse(
                config.default_image,
                config.settings_path,
                config.default_image_line,
                config.default_image_credit,
                "„image_credit“",
            )
        )
    items = site.items
    for key in sorted(items):
        doc = items[key].doc
        meta = doc.meta
        if meta.get("image"):
            uses.append(
                ImageUse(
                    meta["image"],
                    doc.rel_path,
                    doc.line_of("image"),
                    meta.get("image_credit"),
                    "„image_credit“",
                    key,
                )
            )
        for entry in meta.get("images") or ():
            uses.append(
                ImageUse(
                    entry["src"], doc.rel_path, entry["line"], entry.get("credit"), "„credit“", key
                )
            )
    return uses


def variant_key(digest: str) -> str:
    payload = json.dumps([digest, PARAMETERS, PIL.__version__, _VERSION], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def _original_key(digest: str, credit: str, notice: str) -> str:
    payload = json.dumps([digest, credit, notice, PIL.__version__, _VERSION])
    return hashlib.sha256(payload.encode()).hexdigest()


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class _Task:
    src: str
    source: Path
    facts: Facts
    variants: Path | None  # folder to fill; None: variants are cached
    verify_only: bool  # `check`: decode, write nothing
    original: Path | None  # file to write; None: cached
    credit: str
    notice: str


def _run(_: None, task: _Task) -> dict[str, Any]:
    result: dict[str, Any] = {"src": task.src, "decoded": False, "problem": None}
    try:
        if task.variants is not None or task.verify_only:
            result["decoded"] = True
            make_variants(
                VariantPlan(task.source, task.facts, None if task.verify_only else task.variants)
            )
        if task.original is not None:
            data = task.source.read_bytes()
            if task.facts.format == "JPEG":
                try:
                    cleaned = originals.clean_jpeg(
                        data, task.facts.orientation, task.credit, task.notice
                    )
                except originals.BrokenJpeg as exc:
                    raise DecodeProblem(str(exc)) from exc
            else:
                result["decoded"] = True
                cleaned = originals.clean_other(task.source, task.facts, task.credit, task.notice)
            _write_atomically(task.original, cleaned)
    except DecodeProblem as exc:
        result["problem"] = str(exc)
    except (
        OSError,
        ValueError,
        SyntaxError,
    ) as exc:  # Pillow's own decoders raise these on corrupt data
        result["problem"] = str(exc)
    return result


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, target)
    target.with_name(target.name + INFO_SUFFIX).write_text(
        json.dumps({"digest": hashlib.sha256(data).hexdigest(), "size": len(data)}),
        encoding="utf-8",
    )


def _read_original(target: Path) -> dict[str, Any] | None:
    try:
        info = json.loads(target.with_name(target.name + INFO_SUFFIX).read_text(encoding="utf-8"))
        if target.stat().st_size != info["size"]:
            return None
        return {"digest": str(info["digest"]), "size": int(info["size"])}
    except (OSError, ValueError, KeyError, TypeError):
        return None


class _FactsCache:
    """Facts by file digest, kept in one JSON file: a build whose images did not change
    opens none of them."""

    def __init__(self, folder: Path, writable: bool) -> None:
        self.path = folder / _FACTS_FILE
        self.writable = writable
        try:
            loaded = json.loads(self.path.read_text(encoding="utf-8"))
            self.entries: dict[str, Any] = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            self.entries = {}
        self.used: dict[str, Any] = {}

    def get(self, digest: str, path: Path) -> Facts | str:
        entry = self.entries.get(digest)
        result: Facts | str
        try:
            if isinstance(entry, str):
                result = entry
            elif isinstance(entry, dict):
                result = Facts.from_json(entry)
            else:
                raise KeyError(digest)
        except (KeyError, TypeError):
            try:
                result = read_facts(path)
            except MediaProblem as problem:
                result = str(problem)
        self.used[digest] = result if isinstance(result, str) else result.to_json()
        return result

    def save(self) -> None:
        if self.writable and self.used != self.entries:
            _write_atomically_plain(self.path, json.dumps(self.used, sort_keys=True))


def _write_atomically_plain(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, target)


def _stem(src: str) -> str:
    return src.rsplit(".", 1)[0]


def process_media(
    site: Site,
    digests: Mapping[str, str],
    body_uses: Iterable[ImageUse],
    folder: Path,
    *,
    jobs: int,
    write: bool,
) -> Staged[Media]:
    """Check and process every image; ``write=False`` (`check`) decodes to verify but
    writes nothing."""
    media_files = {m.content_path: m for m in site.media}
    uses = [*front_matter_uses(site), *body_uses]
    problems: list[SiteError] = []
    facts_cache = _FactsCache(folder, write)

    def digest_of(source: SourceFile) -> str:
        return digests.get(source.rel_path) or _file_digest(source.path)

    # --- what is used, and is it there, an image, credited? ---------------------------
    used: dict[str, list[ImageUse]] = {}
    for use in uses:
        source = media_files.get(use.src)
        suffix = Path(use.src).suffix.lower()
        if source is None:
            problems.append(
                SiteError(use.path, use.line, f"Bilddatei „content/{use.src}“ gibt es nicht.")
            )
        elif suffix not in IMAGE_SUFFIXES:
            problems.append(
                SiteError(
                    use.path,
                    use.line,
                    f"„{use.src}“ ist kein Bild (erlaubt: JPEG, PNG, WebP, TIFF, GIF, SVG).",
                )
            )
        else:
            used.setdefault(use.src, []).append(use)

    facts: dict[str, Facts] = {}
    svg_sizes: dict[str, tuple[int, int] | None] = {}
    files: list[PublishedFile] = []
    for content_path, source in sorted(media_files.items()):
        suffix = source.path.suffix.lower()
        if suffix == ".svg":
            try:
                data = source.path.read_bytes()
            except OSError as exc:
                problems.append(
                    SiteError(source.rel_path, 0, f"Datei nicht lesbar: {os_reason(exc)}")
                )
                continue
            svg_problems = check_svg(data, source.rel_path)
            problems.extend(svg_problems)
            svg_sizes[content_path] = svg_size(data)
            files.append(PublishedFile(content_path, digest_of(source), source.path))
        elif is_raster(content_path) or suffix in IMAGE_SUFFIXES:
            found = (
                facts_cache.get(digest_of(source), source.path)
                if is_raster(content_path)
                else (
                    "hat ein Format, das Browser nicht überall zeigen; "
                    "bitte als JPEG oder PNG speichern"
                )
            )
            if suffix in (".heic", ".heif"):
                from kldigital_site.media.facts import HEIC_MESSAGE

                found = HEIC_MESSAGE
            if isinstance(found, str):
                if content_path in used:
                    for use in used.pop(content_path):
                        problems.append(SiteError(use.path, use.line, f"Bild „{use.src}“ {found}"))
                else:
                    problems.append(
                        warning(source.rel_path, 0, f"Bild {found}; es wird nicht veröffentlicht.")
                    )
                continue
            facts[content_path] = found
        else:
            files.append(PublishedFile(content_path, digest_of(source), source.path))
    facts_cache.save()

    # A credit for every use: its own, or the one embedded in the file.
    credits: dict[str, str] = {}
    for src, src_uses in used.items():
        embedded = facts[src].credit if src in facts else None
        for use in src_uses:
            credit = use.credit or embedded
            if src in facts and not credit:
                problems.append(
                    SiteError(
                        use.path,
                        use.line,
                        f"Bildnachweis fehlt für „{use.src}“: bitte {use.credit_hint} angeben, "
                        f"z. B. {CREDIT_EXAMPLE}, oder den Nachweis in die Bilddatei einbetten "
                        "(IPTC/XMP).",
                    )
                )
            elif credit and src not in credits:
                credits[src] = credit

    # --- variants and originals ------------------------------------------------------
    tasks: list[_Task] = []
    planned: dict[str, tuple[Path, Path]] = {}
    for src, image_facts in sorted(facts.items()):
        source = media_files[src]
        digest = digest_of(source)
        credit = credits.get(src) or image_facts.credit or ""
        notice = image_facts.copyright or (copyright_from_credit(credit) if credit else "")
        variants = folder / "variants" / variant_key(digest)
        original = (
            folder
            / "originals"
            / (_original_key(digest, credit, notice) + source.path.suffix.lower())
        )
        planned[src] = (variants, original)
        need_variants = src in used and read_variants(variants) is None
        need_original = _read_original(original) is None
        if not write:
            if need_variants:
                tasks.append(_Task(src, source.path, image_facts, None, True, None, credit, notice))
            continue
        if need_variants:
            shutil.rmtree(variants, ignore_errors=True)  # damaged: made anew
        if need_variants or need_original:
            tasks.append(
                _Task(
                    src,
                    source.path,
                    image_facts,
                    variants if need_variants else None,
                    False,
                    original if need_original else None,
                    credit,
                    notice,
                )
            )
    decoded: set[str] = set()
    failed: set[str] = set()
    for result in run_parallel(_run, None, tasks, jobs, min_tasks=2, chunk=1):
        if result["decoded"]:
            decoded.add(result["src"])
        if result["problem"] is not None:
            failed.add(result["src"])
            src = result["src"]
            message = (
                f"Bild „{src}“ ist beschädigt oder unvollständig (abgeschnitten?) und lässt sich "
                "nicht lesen. Bitte die Datei neu speichern oder neu hochladen."
            )
            if src in used:
                problems.extend(SiteError(u.path, u.line, message) for u in used[src])
            else:
                problems.append(warning(media_files[src].rel_path, 0, message))

    # --- what is published ---------------------------------------------------------------
    pictures: dict[str, Picture] = {}
    for src, size in svg_sizes.items():
        width, height = size or (0, 0)
        pictures[src] = Picture(
            src, "SVG", width, height, media_files[src].path.stat().st_size, None, None
        )
    if write:
        for src, image_facts in sorted(facts.items()):
            if src in failed:
                continue
            variants_dir, original = planned[src]
            info = _read_original(original)
            if info is None:
                continue
            files.append(PublishedFile(src, info["digest"], original))
            published: list[Variant] = []
            if src in used:
                key8 = variants_dir.name[:10]
                for entry in read_variants(variants_dir) or []:
                    name = str(entry["name"])
                    width_label = "og" if entry["kind"] == "og" else str(entry["width"])
                    ext = name.rsplit(".", 1)[1]
                    path = f"{_stem(src)}-{width_label}.{key8}.{ext}"
                    published.append(
                        Variant(
                            path,
                            int(entry["width"]),
                            int(entry["height"]),
                            str(entry["type"]),
                            str(entry["kind"]),
                        )
                    )
                    files.append(PublishedFile(path, str(entry["digest"]), variants_dir / name))
            pictures[src] = Picture(
                src,
                FORMAT_LABELS[image_facts.format],
                image_facts.width,
                image_facts.height,
                info["size"],
                image_facts.credit,
                image_facts.copyright,
                tuple(sorted(published, key=lambda v: (v.kind, v.width))),
            )
    else:
        for src, image_facts in facts.items():
            pictures[src] = Picture(
                src,
                FORMAT_LABELS[image_facts.format],
                image_facts.width,
                image_facts.height,
                media_files[src].path.stat().st_size,
                image_facts.credit,
                image_facts.copyright,
            )

    failing = any(p.is_error for p in problems)
    zips = {} if failing else _press_zips(site, pictures, planned, credits, folder, write)
    files.extend(zips.values())
    media = Media(pictures, zips, tuple(files), frozenset(decoded), tuple(uses))
    return Staged(media, tuple(problems))


def media_fingerprint(media: Media) -> str:
    """What pages can show of the images, as one hash (build.py's model key)."""
    data = [
        sorted((src, repr(picture)) for src, picture in media.pictures.items()),
        sorted((key, published.path, published.digest) for key, published in media.zips.items()),
    ]
    return hashlib.sha256(json.dumps(data).encode()).hexdigest()


def download_label(picture: Picture) -> str:
    """„JPG, 4.000 × 3.000 px, 3,2 MB“."""
    size = f"{_thousands(picture.width)} × {_thousands(picture.height)} px"
    return f"{picture.format}, {size}, {file_size_text(picture.file_size)}"


def _thousands(number: int) -> str:
    return f"{number:,}".replace(",", ".")


def file_size_text(size: int) -> str:
    """German file size: „850 KB“, „3,2 MB“."""
    if size < 1_000_000:
        return f"{max(1, round(size / 1000))} KB"
    return f"{size / 1_000_000:.1f} MB".replace(".", ",")


def photo_credit(use_credit: str | None, picture: Picture | None) -> str | None:
    return use_credit or (picture.credit if picture is not None else None)


def _press_zips(
    site: Site,
    pictures: Mapping[str, Picture],
    planned: Mapping[str, tuple[Path, Path]],
    credits: Mapping[str, str],
    folder: Path,
    write: bool,
) -> dict[str, PublishedFile]:
    zips: dict[str, PublishedFile] = {}
    if not write or not planned:
        return zips  # no picture to put in a zip: 8,000 releases not looked at for none
    for key in site.releases:
        item = site.items[key]
        entries: Sequence[Mapping[str, Any]] = item.meta.get("images") or ()
        raster = [e for e in entries if e["src"] in planned and e["src"] in pictures]
        if not raster:
            continue
        names = unique_names([e["src"] for e in raster])
        parts: list[Any] = [item.title]
        for name, entry in zip(names, raster, strict=True):
            picture = pictures[entry["src"]]
            credit = entry.get("credit") or picture.credit or credits.get(entry["src"], "")
            parts.append(
                [
                    name,
                    planned[entry["src"]][1].name,
                    entry.get("caption"),
                    credit,
                    download_label(picture),
                ]
            )
        zip_key = hashlib.sha256(json.dumps([parts, _VERSION]).encode()).hexdigest()
        target = folder / "zips" / f"{zip_key}.zip"
        info = _read_original(target)
        if info is None:
            photos = [
                ZipPhoto(name, planned[src_name][1].read_bytes(), caption, credit, label)
                for (name, _, caption, credit, label), src_name in zip(
                    parts[1:], [e["src"] for e in raster], strict=True
                )
            ]
            _write_atomically(target, press_zip(item.title, photos))
            info = _read_original(target)
            assert info is not None
        zips[key] = PublishedFile(f"{item.url}pressefotos.zip", info["digest"], target)
    return zips


def media_folder(work_dir: Path | None) -> Path:
    """Where variants and originals are made: the cache folder, or without a cache
    (``--no-cache``) a fresh scratch folder, which the build removes when it ends."""
    if work_dir is not None:
        return work_dir / "media"
    return Path(tempfile.mkdtemp(prefix="kldigital-media-"))
