"""What an image file is, read from its header: never decoding its pixels.

Input: the path of a file under ``content/medien/``. Output: ``Facts`` (format,
displayed size after EXIF orientation, transparency, the credit and copyright
notice the photographer embedded as IPTC or XMP), or ``MediaProblem`` with a
German message for a file that is no image, an unsupported format (HEIC) or a
decompression bomb. A bomb is refused from the pixel count in its header, before
anything is allocated.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from kldigital_site.errors import os_reason

# Pillow is imported where an image is read: a build whose images are all known from
# the cache (an edit of text) never loads it (~20 ms, issue 15).
if TYPE_CHECKING:
    from PIL import Image

# 80 megapixels: above every camera an agency uses (61 MP); a 16,000 × 16,000 PNG of
# a few kilobytes would otherwise take a gigabyte to decode.
MAX_PIXELS = 80_000_000

RASTER_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".tif", ".tiff", ".gif"})
IMAGE_SUFFIXES = RASTER_SUFFIXES | {".svg", ".heic", ".heif", ".avif"}
FORMAT_LABELS = {"JPEG": "JPG", "PNG": "PNG", "WEBP": "WebP", "TIFF": "TIFF", "GIF": "GIF"}

# ISO base media files (HEIC, HEIF) name their brand at byte 4: "ftypheic", "ftypmif1" ...
_HEIF_BRANDS = (b"ftypheic", b"ftypheix", b"ftyphevc", b"ftypmif1", b"ftypmsf1", b"ftypheim")

HEIC_MESSAGE = (
    "ist ein HEIC-Foto (Format von iPhones), das Browser nicht zeigen. Bitte als JPEG "
    "speichern: am iPhone unter Einstellungen → Kamera → Formate „Maximale Kompatibilität“ "
    "wählen, oder das Foto in der Fotos-App bzw. in „Vorschau“ mit „Exportieren … JPEG“ "
    "umwandeln."
)


class MediaProblem(ValueError):
    """The file cannot be used; the message completes „Bild „…“ …“."""


@dataclass(frozen=True, slots=True)
class Facts:
    format: str  # Pillow's name: JPEG, PNG, WEBP, TIFF, GIF
    width: int  # as shown, EXIF orientation applied
    height: int
    has_alpha: bool
    credit: str | None  # embedded credit line
    copyright: str | None  # embedded copyright notice
    orientation: int = 1

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Facts:
        return cls(**data)


def is_raster(path: str) -> bool:
    return Path(path).suffix.lower() in RASTER_SUFFIXES


def read_facts(path: Path) -> Facts:
    """The facts of a raster image, from its header and metadata."""
    try:
        with path.open("rb") as stream:
            head = stream.read(16)
    except OSError as exc:
        raise MediaProblem(f"ist nicht lesbar ({os_reason(exc)})") from exc
    if head[4:12] in _HEIF_BRANDS:
        raise MediaProblem(HEIC_MESSAGE)
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(path) as image:
                return _facts(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise MediaProblem(_bomb_message()) from exc
        except UnidentifiedImageError as exc:
            raise MediaProblem(
                f"ist keine Bilddatei, die sich lesen lässt (Inhalt passt nicht zur Endung "
                f"„{path.suffix}“ oder die Datei ist beschädigt)"
            ) from exc
        except (OSError, SyntaxError, ValueError) as exc:
            raise MediaProblem(f"ist beschädigt und lässt sich nicht lesen ({exc})") from exc


def _bomb_message() -> str:
    limit = f"{MAX_PIXELS // 1_000_000}"
    return (
        f"ist zu groß: mehr als {limit} Megapixel (eine sogenannte Dekompressionsbombe oder ein "
        "unnötig großes Bild). Bitte auf höchstens 6.000 Pixel Breite verkleinern."
    )


def _facts(image: Image.Image) -> Facts:
    if image.format not in FORMAT_LABELS:
        raise MediaProblem(
            f"hat das Format {image.format}, das nicht unterstützt wird "
            "(erlaubt: JPEG, PNG, WebP, TIFF, GIF, SVG)"
        )
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise MediaProblem(_bomb_message())
    orientation = 1
    try:
        orientation = int(image.getexif().get(0x0112, 1))
    except (ValueError, TypeError, SyntaxError, OSError):
        orientation = 1
    if orientation not in range(1, 9):
        orientation = 1
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    credit, notice = embedded_credit(image)
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or ("transparency" in image.info)
    return Facts(image.format, width, height, has_alpha, credit, notice, orientation)


# --- embedded credits -----------------------------------------------------------

_NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "dc": "http://purl.org/dc/elements/1.1/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
}


def embedded_credit(image: Image.Image) -> tuple[str | None, str | None]:
    """(credit line, copyright notice) from IPTC, then XMP; a by-line alone becomes
    „Foto: <name>“."""
    credit, notice, creator = _iptc(image)
    xmp_credit, xmp_notice, xmp_creator = _xmp(image)
    credit = credit or xmp_credit
    notice = notice or xmp_notice
    creator = creator or xmp_creator
    if not credit and creator:
        credit = f"Foto: {creator}"
    return credit, notice


def _clean(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, bytes):
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            value = value.decode("latin-1")
    if not isinstance(value, str):
        return None
    value = " ".join(value.split())
    return value or None


def _iptc(image: Image.Image) -> tuple[str | None, str | None, str | None]:
    from PIL import IptcImagePlugin

    try:
        info = IptcImagePlugin.getiptcinfo(image)  # type: ignore[arg-type]
    except (OSError, SyntaxError, ValueError, IndexError, TypeError):
        return None, None, None
    if not info:
        return None, None, None
    return _clean(info.get((2, 110))), _clean(info.get((2, 116))), _clean(info.get((2, 80)))


def _xmp_packet(image: Image.Image) -> bytes | None:
    for key in ("xmp", "XML:com.adobe.xmp"):
        value = image.info.get(key)
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, bytes):
            return value
    tags = getattr(image, "tag_v2", None)
    if tags is not None and 700 in tags:
        value = tags[700]
        return value if isinstance(value, bytes) else str(value).encode("utf-8")
    return None


def _xmp(image: Image.Image) -> tuple[str | None, str | None, str | None]:
    packet = _xmp_packet(image)
    # An entity declaration has no business in XMP and is how XML bombs start.
    if not packet or re.search(rb"<!(?:DOCTYPE|ENTITY)", packet):
        return None, None, None
    start = packet.find(b"<x:xmpmeta")
    start = start if start >= 0 else packet.find(b"<rdf:RDF")
    end_tag = b"</x:xmpmeta>" if packet.find(b"</x:xmpmeta>") >= 0 else b"</rdf:RDF>"
    end = packet.find(end_tag)
    if start < 0 or end < 0:
        return None, None, None
    try:
        root = ElementTree.fromstring(packet[start : end + len(end_tag)])
    except ElementTree.ParseError:
        return None, None, None
    credit = rights = creator = None
    for description in root.iter(f"{{{_NS['rdf']}}}Description"):
        credit = credit or _clean(description.get(f"{{{_NS['photoshop']}}}Credit"))
        element = description.find("photoshop:Credit", _NS)
        if element is not None:
            credit = credit or _clean(element.text)
        for li in description.iterfind("dc:rights/rdf:Alt/rdf:li", _NS):
            rights = rights or _clean(li.text)
        for li in description.iterfind("dc:creator/rdf:Seq/rdf:li", _NS):
            creator = creator or _clean(li.text)
    return credit, rights, creator


def copyright_from_credit(credit: str) -> str:
    """„Foto: Stadt KL / Jana Beispiel“ → „© Stadt KL / Jana Beispiel“."""
    name = re.sub(r"^(?:Foto|Fotos|Bild|Grafik|Illustration|Abbildung)\s*:\s*", "", credit)
    return name if name.startswith("©") else f"© {name}"
