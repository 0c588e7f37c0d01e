"""Paint the sample site's photos: `python -m tools.make_sample_photos` (from the repo root).

Nothing can be downloaded here, and real photos of people need their consent; these
pictures are painted by Pillow (tools/photos.py), deterministic for a seed, small
enough to commit (about 40 KB each). One of them carries its credit embedded as
XMP, the way agencies deliver photos, so the sample shows both kinds of credit.
"""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageDraw

from tools.photos import paint

CONTENT = Path(__file__).resolve().parent.parent / "content" / "medien"
SIZE = (1200, 800)
QUALITY = 70

# file → (scene, seed, credit embedded in the file or None)
PHOTOS = {
    "presse/lieferdienst-lastenrad.jpg": ("street", 3, None),
    "presse/lieferdienst-sammelstelle.jpg": ("hall", 5, "Foto: KL.digital GmbH / Tom Beispiel"),
    "presse/lieferdienst-innenstadt.jpg": ("evening", 2, None),
    "projekte/dritte-orte-platz.jpg": ("square", 7, None),
    "projekte/dritte-orte-park.jpg": ("park", 4, None),
    "projekte/dritte-orte-abend.jpg": ("evening", 9, None),
}


def _xmp(credit: str) -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
        f'photoshop:Credit="{credit}"/></rdf:RDF></x:xmpmeta>'
    ).encode()


def _save(image: Image.Image, target: Path, credit: str | None) -> None:
    buffer = io.BytesIO()
    options: dict[str, object] = {"quality": QUALITY, "optimize": True}
    if credit:
        options["xmp"] = _xmp(credit)
    image.save(buffer, "JPEG", **options)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(buffer.getvalue())


def social_image() -> Image.Image:
    """The site's preview for social networks: a photo with the brand colour band."""
    image = paint("square", 11, (1200, 630))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 470, 1200, 630], fill="#a3092b")
    draw.text((60, 500), "herzlich digital", fill="white", font_size=72)
    draw.text((62, 585), "Digitalisierung in Kaiserslautern", fill="white", font_size=30)
    return image


def main() -> None:
    for name, (scene, seed, credit) in PHOTOS.items():
        _save(paint(scene, seed, SIZE), CONTENT / name, credit)
    _save(social_image(), CONTENT / "website-vorschau.jpg", None)
    total = sum((CONTENT / name).stat().st_size for name in [*PHOTOS, "website-vorschau.jpg"])
    print(f"{len(PHOTOS) + 1} Bilder, {total // 1000} KB")


if __name__ == "__main__":
    main()
