"""Responsive variants of one raster image, made by Pillow.

Input: ``VariantPlan`` (source file, its ``Facts``, the widths to make, the
folder to fill). Output: the folder, holding each width as WebP and as a JPEG (PNG
for transparent images) fallback plus a 1200 × 630 crop for social previews, and
``variants.json`` describing them. Never upscaled; EXIF orientation applied; CMYK,
other colour spaces and 16-bit images converted to 8-bit sRGB; no metadata written.
A large JPEG is decoded in draft mode, at the smallest power-of-two reduction
still larger than the biggest variant: a 4000 px photo for 1440 px variants
decodes at 2000 px, four times fewer pixels.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kldigital_site.media.facts import Facts

# Pillow is imported where pixels are decoded (media/facts.py says why).
if TYPE_CHECKING:
    from PIL import Image

WIDTHS = (480, 960, 1440)
OG_SIZE = (1200, 630)
WEBP_OPTIONS: dict[str, Any] = {"quality": 80, "method": 4}
JPEG_OPTIONS: dict[str, Any] = {"quality": 82, "progressive": True, "optimize": True}
PARAMETERS = {"widths": WIDTHS, "og": OG_SIZE, "webp": WEBP_OPTIONS, "jpeg": JPEG_OPTIONS}
INFO_NAME = "variants.json"


class DecodeProblem(ValueError):
    """The pixels cannot be decoded (truncated or corrupt)."""


@dataclass(frozen=True, slots=True)
class VariantPlan:
    source: Path
    facts: Facts
    folder: Path | None  # None: only decode, to prove the file is whole (`check`)


def target_widths(width: int) -> tuple[int, ...]:
    """The variant widths for an image ``width`` wide: never wider than the image."""
    return tuple(sorted({min(w, width) for w in WIDTHS}))


def _srgb(image: Image.Image) -> Image.Image:
    """8-bit sRGB (with alpha when the image has it), whatever the file held."""
    from PIL import ImageCms

    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        image = image.convert("I").point(lambda value: value * (1 / 256)).convert("L")
    icc = image.info.get("icc_profile")
    if icc and image.mode in ("RGB", "CMYK", "L"):
        try:
            profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            name = ImageCms.getProfileDescription(profile) or ""
            if "srgb" not in name.lower().replace(" ", ""):
                converted = ImageCms.profileToProfile(
                    image, profile, ImageCms.createProfile("sRGB"), outputMode="RGB"
                )
                if converted is not None:
                    image = converted
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # a broken profile: the plain conversion below still gives sRGB-ish pixels
    if image.mode in ("RGBA", "LA", "PA", "P", "1", "La", "RGBa") or "transparency" in image.info:
        has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or (
            "transparency" in image.info
        )
        image = image.convert("RGBA" if has_alpha else "RGB")
    elif image.mode != "RGB":
        image = image.convert("RGB")
    image.info = {}
    return image


def decode(plan: VariantPlan, largest: int) -> Image.Image:
    """The image as shown, in sRGB, at least ``largest`` wide (and tall enough for the
    social crop) when the file is."""
    from PIL import Image, ImageOps

    facts = plan.facts
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(plan.source) as image:
                if facts.format == "JPEG":
                    scale = min(1.0, max(largest / facts.width, OG_SIZE[1] / facts.height))
                    need = (math.ceil(facts.width * scale), math.ceil(facts.height * scale))
                    if facts.orientation in (5, 6, 7, 8):
                        need = (need[1], need[0])
                    image.draft(image.mode if image.mode in ("RGB", "L") else None, need)
                image.load()
                return _srgb(ImageOps.exif_transpose(image))
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombWarning) as exc:
            raise DecodeProblem(str(exc)) from exc


def make_variants(plan: VariantPlan) -> list[dict[str, Any]]:
    """Fill ``plan.folder`` (atomically: all files or none) and describe its files."""
    from PIL import Image, ImageOps

    widths = target_widths(plan.facts.width)
    image = decode(plan, max(max(widths), OG_SIZE[0]))
    if plan.folder is None:
        return []
    fallback = "PNG" if image.mode == "RGBA" else "JPEG"
    temporary = plan.folder.with_name(f".{plan.folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(temporary, ignore_errors=True)
    temporary.mkdir(parents=True)
    files: list[dict[str, Any]] = []

    def save(picture: Image.Image, name: str, kind: str, fmt: str, **options: Any) -> None:
        buffer = io.BytesIO()
        picture.save(buffer, fmt, **options)
        data = buffer.getvalue()
        (temporary / name).write_bytes(data)
        files.append(
            {
                "name": name,
                "kind": kind,
                "width": picture.width,
                "height": picture.height,
                "type": f"image/{fmt.lower()}",
                "digest": hashlib.sha256(data).hexdigest(),
            }
        )

    current = image
    for width in sorted(widths, reverse=True):
        height = max(1, round(image.height * width / image.width))
        # Each smaller width from the previous one: fewer pixels to filter, same result
        # to the eye (the steps are at most 2:1).
        if current.size != (width, height):
            current = current.resize((width, height), Image.Resampling.LANCZOS)
        save(current, f"{width}.webp", "webp", "WEBP", **WEBP_OPTIONS)
        if fallback == "JPEG":
            save(current, f"{width}.jpg", "fallback", "JPEG", **JPEG_OPTIONS)
        else:
            save(current, f"{width}.png", "fallback", "PNG")
    crop = ImageOps.fit(
        image.convert("RGB"), OG_SIZE, Image.Resampling.LANCZOS, centering=(0.5, 0.4)
    )
    save(crop, "og.jpg", "og", "JPEG", **JPEG_OPTIONS)
    (temporary / INFO_NAME).write_text(json.dumps(files, sort_keys=True), encoding="utf-8")
    try:
        os.replace(temporary, plan.folder)
    except OSError:
        # Another process made the same folder meanwhile: the same bytes, keep theirs.
        shutil.rmtree(temporary, ignore_errors=True)
    return files


def read_variants(folder: Path) -> list[dict[str, Any]] | None:
    """A finished folder's description, or None (missing or damaged: made anew)."""
    try:
        files = json.loads((folder / INFO_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(files, list) or not all(
        isinstance(f, dict) and (folder / str(f.get("name"))).is_file() for f in files
    ):
        return None
    return files
