"""Press photos and images (issue 12): what editors, visitors and journalists notice.

Credits from front matter, IPTC and XMP; no location or device data in any
published file; pictures with variants, sizes and loading hints; press photos
with downloads and a byte-stable ZIP; galleries; social previews; and builds
that decode a photo only when it changed.
"""

from __future__ import annotations

import io
import json
import shutil
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path

import lxml.html
import pytest
from PIL import Image

from kldigital_site.media.facts import MediaProblem, read_facts
from tests.conftest import FIXTURES, build_site_at

MakeSite = Callable[[Mapping[str, str | bytes]], Path]

SERIAL = "SN-4711-0815-GEHEIM"
LENS_SERIAL = "LENS-99887766"
MAKER_NOTE = b"HERSTELLER-NOTIZ-GEHEIM"
CAMERA = "Kamerafirma Modell X"


def jpeg(
    size: tuple[int, int] = (800, 600),
    color: str = "#3a6ea5",
    *,
    exif: Image.Exif | None = None,
    xmp: bytes | None = None,
    mode: str = "RGB",
) -> bytes:
    image = Image.new(mode, size, color if mode == "RGB" else (0, 160, 200, 0))
    # Some structure, so that a wrong crop or rotation would show in the pixels.
    image.paste((200, 30, 40) if mode == "RGB" else (0, 255, 255, 0), (0, 0, size[0] // 4, 8))
    buffer = io.BytesIO()
    options: dict[str, object] = {"quality": 85}
    if exif is not None:
        options["exif"] = exif.tobytes()
    if xmp is not None:
        options["xmp"] = xmp
    image.save(buffer, "JPEG", **options)
    return buffer.getvalue()


def with_iptc(data: bytes, credit: str, byline: str | None = None) -> bytes:
    """Insert an IPTC block (APP13, Photoshop 3.0 / 8BIM 0x0404) as agencies' tools do."""

    def dataset(number: int, value: str) -> bytes:
        raw = value.encode("utf-8")
        return b"\x1c\x02" + bytes((number,)) + len(raw).to_bytes(2, "big") + raw

    iptc = b"\x1c\x01\x5a\x00\x03\x1b%G" + dataset(110, credit)
    if byline:
        iptc += dataset(80, byline)
    if len(iptc) % 2:
        iptc += b"\x00"
    block = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00" + len(iptc).to_bytes(4, "big") + iptc
    segment = b"\xff\xed" + (len(block) + 2).to_bytes(2, "big") + block
    return data[:2] + segment + data[2:]


def private_exif() -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "Kamerafirma"
    exif[0x0110] = CAMERA
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (49.0, 26.0, 39.5)
    gps[3] = "E"
    gps[4] = (7.0, 46.0, 10.25)
    details = exif.get_ifd(0x8769)
    details[0xA431] = SERIAL
    details[0xA435] = LENS_SERIAL
    details[0x927C] = MAKER_NOTE
    return exif


def project(image: str, extra: str = "", body: str = "Text des Projekts.\n") -> str:
    return (
        "---\ntitle: Beispielprojekt\nsummary: Ein Projekt mit Bild.\n"
        f"image: {image}\nimage_alt: Ein Foto vom Platz\n{extra}---\n{body}"
    )


PROJECT_PAGE = "projekte/beispielprojekt/index.html"
RELEASE_PAGE = "presse/erste-mitteilung/index.html"


def page(out: Path, rel: str) -> lxml.html.HtmlElement:
    return lxml.html.fromstring((out / rel).read_bytes())


def json_ld(tree: lxml.html.HtmlElement) -> dict[str, object]:
    (script,) = tree.xpath("//script[@type='application/ld+json']")
    data = json.loads(script.text)
    assert isinstance(data, dict)
    return data


def test_no_published_file_carries_location_or_device_data(
    make_site: MakeSite, tmp_path: Path
) -> None:
    photo = jpeg((1600, 1200), exif=private_exif())
    # The test photo really carries what must not be published.
    with Image.open(io.BytesIO(photo)) as source:
        assert source.getexif().get_ifd(0x8825)
        assert source.getexif().get_ifd(0x8769)[0xA431] == SERIAL
    root = make_site(
        {
            "content/medien/projekte/platz.jpg": photo,
            "content/projekte/beispielprojekt.md": project(
                "medien/projekte/platz.jpg", 'image_credit: "Foto: Stadt / Jana Beispiel"\n'
            ),
        }
    )
    out = tmp_path / "out"
    build_site_at(root, output=out)

    published = [p for p in out.rglob("*") if p.is_file()]
    images = [p for p in published if p.suffix in (".jpg", ".webp", ".png")]
    assert len(images) >= 5  # the original, variants in two formats, the social crop
    for path in published:
        data = path.read_bytes()
        for secret in (SERIAL.encode(), LENS_SERIAL.encode(), MAKER_NOTE, CAMERA.encode()):
            assert secret not in data, f"{secret!r} in {path.relative_to(out)}"
    for path in images:
        with Image.open(path) as image:
            exif = image.getexif()
            assert not exif.get_ifd(0x8825), f"GPS in {path.relative_to(out)}"
            assert 0x8769 not in exif, f"Exif details in {path.relative_to(out)}"


def test_the_original_keeps_its_pixels_and_receives_credit_and_copyright(
    make_site: MakeSite, tmp_path: Path
) -> None:
    photo = jpeg((1200, 900), exif=private_exif())
    root = make_site(
        {
            "content/medien/projekte/platz.jpg": photo,
            "content/projekte/beispielprojekt.md": project(
                "medien/projekte/platz.jpg", 'image_credit: "Foto: Stadt / Jana Müller"\n'
            ),
        }
    )
    out = tmp_path / "out"
    build_site_at(root, output=out)

    original = out / "medien/projekte/platz.jpg"
    facts = read_facts(original)
    assert (facts.credit, facts.copyright) == ("Foto: Stadt / Jana Müller", "© Stadt / Jana Müller")
    assert (facts.width, facts.height) == (1200, 900)
    # Not re-encoded: the compressed picture is the photographer's, byte for byte.
    scan = photo[photo.index(b"\xff\xda") :]
    assert original.read_bytes().endswith(scan)


@pytest.mark.parametrize("source", ["front matter", "iptc", "xmp creator", "xmp credit"])
def test_the_credit_is_shown_from_front_matter_or_embedded_metadata(
    source: str, make_site: MakeSite, tmp_path: Path
) -> None:
    extra = ""
    expected = "Foto: Agentur / Jana Beispiel"
    if source == "front matter":
        photo, extra = jpeg(), f'image_credit: "{expected}"\n'
    elif source == "iptc":
        photo = with_iptc(jpeg(), expected)
    elif source == "xmp creator":
        photo = jpeg(
            xmp=_xmp(
                "<dc:creator><rdf:Seq><rdf:li>Agentur / Jana Beispiel</rdf:li>"
                "</rdf:Seq></dc:creator>"
            )
        )
    else:
        photo = jpeg(xmp=_xmp(f"<photoshop:Credit>{expected}</photoshop:Credit>"))
    root = make_site(
        {
            "content/medien/projekte/platz.jpg": photo,
            "content/projekte/beispielprojekt.md": project("medien/projekte/platz.jpg", extra),
        }
    )
    out = tmp_path / "out"
    build_site_at(root, output=out)

    tree = page(out, PROJECT_PAGE)
    (credit,) = tree.xpath("//figure[contains(@class, 'article-image')]//small[@class='credit']")
    assert credit.text == expected
    (image,) = json_ld(tree)["image"]  # type: ignore[misc]
    assert image["creditText"] == expected
    assert image["copyrightNotice"] == "© Agentur / Jana Beispiel"
    # On the list of projects the card shows it too.
    cards = page(out, "projekte/index.html")
    assert expected in [c.text for c in cards.xpath("//small[@class='credit']")]


def _xmp(description: str) -> bytes:
    return (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/">'
        f"{description}</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


RELEASE_WITH_PHOTOS = """\
---
title: Erste Mitteilung
date: 2024-05-02
image: medien/presse/aufmacher.jpg
image_alt: Der neue Platz am Morgen
image_caption: Der Platz nach dem Umbau
image_credit: "Foto: Stadt Kaiserslautern / Jana Beispiel"
images:
  - src: medien/presse/eins.jpg
    alt: Die Bürgermeisterin am Rednerpult
    caption: Eröffnung am Montag
    credit: "Foto: Stadt Kaiserslautern / Jana Beispiel"
  - src: medien/presse/zwei.jpg
    alt: Kinder auf dem Spielplatz
    credit: "Foto: Max Muster"
  - src: medien/presse/drei.png
    alt: Lageplan des Platzes
    caption: Lageplan
    credit: "Grafik: Stadtplanung"
---
Text der Mitteilung.
"""


def _png(size: tuple[int, int], mode: str = "RGB") -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size, (90, 120, 200) if mode == "RGB" else 4000).save(buffer, "PNG")
    return buffer.getvalue()


def _release_site(make_site: MakeSite) -> Path:
    return make_site(
        {
            "content/medien/presse/aufmacher.jpg": jpeg((2000, 1500)),
            "content/medien/presse/eins.jpg": jpeg((1000, 750), "#883322"),
            "content/medien/presse/zwei.jpg": jpeg((600, 800), "#228833"),
            "content/medien/presse/drei.png": _png((500, 400)),
            "content/presse/2024-05-02-erste-mitteilung.md": RELEASE_WITH_PHOTOS,
        }
    )


def test_press_photos_offer_originals_and_a_byte_stable_zip(
    make_site: MakeSite, tmp_path: Path
) -> None:
    root = _release_site(make_site)
    first, second = tmp_path / "eins", tmp_path / "zwei"
    build_site_at(root, output=first)
    build_site_at(root, output=second)  # the cache is warm now: the ZIP must still match

    tree = page(first, RELEASE_PAGE)
    section = tree.xpath("//section[contains(@class, 'press-photos')]")[0]
    assert section.xpath("string(h2)") == "Pressefotos"
    downloads = section.xpath(".//a[@class='photo-download']")
    labels = [" ".join(a.text_content().split()) for a in downloads]
    size = (first / "medien/presse/eins.jpg").stat().st_size
    assert labels[0] == f"Foto 1 herunterladen (JPG, 1.000 × 750 px, {round(size / 1000)} KB)"
    assert labels[1].startswith("Foto 2 herunterladen (JPG, 600 × 800 px, ")
    assert labels[2].startswith("Foto 3 herunterladen (PNG, 500 × 400 px, ")
    assert [a.get("href") for a in downloads] == [
        "/medien/presse/eins.jpg",
        "/medien/presse/zwei.jpg",
        "/medien/presse/drei.png",
    ]
    credits = [c.text for c in section.xpath(".//small[@class='credit']")]
    assert credits == [
        "Foto: Stadt Kaiserslautern / Jana Beispiel",
        "Foto: Max Muster",
        "Grafik: Stadtplanung",
    ]
    (archive_link,) = section.xpath(".//p[@class='photo-archive']/a")
    assert archive_link.get("href") == "/presse/erste-mitteilung/pressefotos.zip"
    assert archive_link.text_content().startswith("Alle Pressefotos als ZIP (")

    zip_path = "presse/erste-mitteilung/pressefotos.zip"
    data = (first / zip_path).read_bytes()
    assert data == (second / zip_path).read_bytes()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["eins.jpg", "zwei.jpg", "drei.png", "Bildnachweise.txt"]
        assert archive.read("eins.jpg") == (first / "medien/presse/eins.jpg").read_bytes()
        text = archive.read("Bildnachweise.txt").decode("utf-8")
    assert "Bildunterschrift: Eröffnung am Montag" in text
    assert "Bildnachweis: Foto: Max Muster" in text
    assert "Bildnachweis: Grafik: Stadtplanung" in text

    # A fresh build elsewhere, without any cache, gives the same bytes.
    shutil.rmtree(root / ".kldigital-cache")
    build_site_at(root, output=tmp_path / "drei")
    assert (tmp_path / "drei" / zip_path).read_bytes() == data


def test_pictures_have_sizes_variants_and_loading_hints(
    make_site: MakeSite, tmp_path: Path
) -> None:
    root = _release_site(make_site)
    out = tmp_path / "out"
    build_site_at(root, output=out)
    tree = page(out, RELEASE_PAGE)

    lead = tree.xpath("//figure[contains(@class, 'article-image')]")[0]
    (img,) = lead.xpath(".//img")
    assert (img.get("width"), img.get("height")) == ("2000", "1500")
    assert img.get("fetchpriority") == "high" and img.get("loading") is None
    (source,) = lead.xpath(".//source")
    assert source.get("type") == "image/webp"
    widths = [entry.split()[1] for entry in source.get("srcset").split(", ")]
    assert widths == ["480w", "960w", "1440w"]
    assert lead.xpath("string(.//span[@class='figure-caption'])") == "Der Platz nach dem Umbau"
    for entry in source.get("srcset").split(", "):
        url, width = entry.split()
        with Image.open(out / url.lstrip("/")) as variant:
            assert (variant.format, f"{variant.width}w") == ("WEBP", width)
            assert variant.height == round(int(width[:-1]) * 3 / 4)

    photos = tree.xpath("//section[contains(@class, 'press-photos')]//img")
    assert all(p.get("loading") == "lazy" and p.get("fetchpriority") is None for p in photos)
    # Never upscaled: the 600 px photo has no wider variant.
    portrait = photos[1].xpath("ancestor::picture[1]//source")[0].get("srcset")
    assert [e.split()[1] for e in portrait.split(", ")] == ["480w", "600w"]

    og = {m.get("property"): m.get("content") for m in tree.xpath("//meta[@property]")}
    assert (og["og:image:width"], og["og:image:height"]) == ("1200", "630")
    assert og["og:image:alt"] == "Der neue Platz am Morgen"
    with Image.open(out / og["og:image"].removeprefix("https://example.org/")) as crop:
        assert crop.size == (1200, 630)


def test_orientation_cmyk_and_16_bit_images_become_upright_srgb(
    make_site: MakeSite, tmp_path: Path
) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # stored landscape, shown rotated by 90°: portrait
    root = make_site(
        {
            "content/medien/presse/aufmacher.jpg": jpeg((900, 600), exif=exif),
            "content/medien/presse/eins.jpg": jpeg((700, 500), mode="CMYK"),
            "content/medien/presse/zwei.jpg": jpeg((600, 800), "#228833"),
            "content/medien/presse/drei.png": _png((640, 480), mode="I;16"),
            "content/presse/2024-05-02-erste-mitteilung.md": RELEASE_WITH_PHOTOS,
        }
    )
    out = tmp_path / "out"
    build_site_at(root, output=out)
    tree = page(out, RELEASE_PAGE)

    (lead,) = tree.xpath("//figure[contains(@class, 'article-image')]//img")
    assert (lead.get("width"), lead.get("height")) == ("600", "900")
    with Image.open(out / lead.get("src").lstrip("/")) as variant:
        assert variant.height > variant.width
    for img in tree.xpath("//section[contains(@class, 'press-photos')]//img"):
        with Image.open(out / img.get("src").lstrip("/")) as variant:
            assert variant.mode == "RGB"
            assert "icc_profile" not in variant.info


def test_a_gallery_shows_every_image_with_its_credit(make_site: MakeSite, tmp_path: Path) -> None:
    root = make_site(
        {
            "content/medien/projekte/a.jpg": jpeg((640, 480)),
            "content/medien/projekte/b.jpg": with_iptc(jpeg((640, 480), "#aa5500"), "Foto: IPTC"),
            "content/projekte/beispielprojekt.md": (
                "---\ntitle: Beispielprojekt\nsummary: Mit Galerie.\nimages:\n"
                '  - src: medien/projekte/a.jpg\n    alt: Erstes Bild\n    credit: "Foto: A"\n'
                "  - src: medien/projekte/b.jpg\n    alt: Zweites Bild\n    caption: Zwei\n"
                "---\nText.\n"
            ),
        }
    )
    out = tmp_path / "out"
    build_site_at(root, output=out)
    gallery = page(out, PROJECT_PAGE).xpath("//section[contains(@class, 'project-gallery')]")[0]
    assert [i.get("alt") for i in gallery.xpath(".//img")] == ["Erstes Bild", "Zweites Bild"]
    assert [c.text for c in gallery.xpath(".//small[@class='credit']")] == ["Foto: A", "Foto: IPTC"]


def test_a_body_image_becomes_a_figure_with_caption_and_credit(
    make_site: MakeSite, tmp_path: Path
) -> None:
    body = (
        "Text.\n\n"
        '![Ein Foto vom Platz](../medien/projekte/platz.jpg "Der Platz im Sommer")'
        '{credit="Foto: Jana Beispiel"}\n\nMehr Text.\n'
    )
    root = make_site(
        {
            "content/medien/projekte/platz.jpg": jpeg((1000, 500)),
            "content/projekte/beispielprojekt.md": (
                f"---\ntitle: Beispielprojekt\nsummary: Mit Bild im Text.\n---\n{body}"
            ),
        }
    )
    out = tmp_path / "out"
    result = build_site_at(root, output=out)
    assert result.warnings == []
    (figure,) = page(out, PROJECT_PAGE).xpath("//figure[@class='body-image']")
    (img,) = figure.xpath(".//img")
    assert (img.get("width"), img.get("height"), img.get("loading")) == ("1000", "500", "lazy")
    assert img.get("alt") == "Ein Foto vom Platz" and img.get("title") is None
    assert figure.xpath("string(.//span[@class='figure-caption'])") == "Der Platz im Sommer"
    assert figure.xpath("string(.//small[@class='credit'])") == "Foto: Jana Beispiel"


def test_only_a_changed_photo_is_decoded_again(make_site: MakeSite, tmp_path: Path) -> None:
    root = _release_site(make_site)
    out = tmp_path / "out"
    cold = build_site_at(root, output=out)
    assert cold.decoded == {
        "medien/presse/aufmacher.jpg",
        "medien/presse/eins.jpg",
        "medien/presse/zwei.jpg",
        "medien/presse/drei.png",
    }

    again = build_site_at(root, output=out)
    assert again.site is None  # the no-change shortcut: nothing parsed, nothing decoded
    assert again.decoded == frozenset()

    release = root / "content/presse/2024-05-02-erste-mitteilung.md"
    release.write_text(release.read_text(encoding="utf-8") + "Ein neuer Satz.\n", "utf-8")
    text_only = build_site_at(root, output=out)
    assert text_only.site is not None and text_only.decoded == frozenset()

    (root / "content/medien/presse/zwei.jpg").write_bytes(jpeg((600, 800), "#2288aa"))
    one_photo = build_site_at(root, output=out)
    assert one_photo.decoded == {"medien/presse/zwei.jpg"}
    assert "medien/presse/zwei.jpg" in one_photo.report.written  # type: ignore[union-attr]


def test_variants_of_an_image_no_longer_used_leave_the_output(
    make_site: MakeSite, tmp_path: Path
) -> None:
    root = make_site(
        {
            "content/medien/projekte/platz.jpg": jpeg((800, 600)),
            "content/projekte/beispielprojekt.md": project(
                "medien/projekte/platz.jpg", 'image_credit: "Foto: A"\n'
            ),
        }
    )
    out = tmp_path / "out"
    build_site_at(root, output=out)
    variants = sorted(p.name for p in (out / "medien/projekte").glob("platz-*"))
    assert len(variants) == 5  # 480 and 800 px in WebP and JPEG, the social crop

    (root / "content/projekte/beispielprojekt.md").write_text(
        "---\ntitle: Beispielprojekt\nsummary: Ohne Bild.\n---\nText.\n", "utf-8"
    )
    build_site_at(root, output=out)
    assert sorted(p.name for p in (out / "medien/projekte").iterdir()) == ["platz.jpg"]


def test_a_decompression_bomb_is_refused_from_its_header() -> None:
    bomb = FIXTURES / "invalid/image-decompression-bomb/content/medien/projekte/riesig.png"
    assert bomb.stat().st_size < 1000  # claims 30,000 × 30,000 pixels: 2.7 GB decoded
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(MediaProblem, match="mehr als 80 Megapixel"):
            read_facts(bomb)
        elapsed = time.perf_counter() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000
    assert elapsed < 2.0


def test_pages_without_an_image_show_the_site_image(make_site: MakeSite, tmp_path: Path) -> None:
    settings = (FIXTURES / "sites/minimal/content/site.yaml").read_text(encoding="utf-8")
    root = make_site(
        {
            "content/medien/vorschau.jpg": jpeg((1600, 900)),
            "content/site.yaml": settings
            + "image: medien/vorschau.jpg\nimage_alt: Logo der Stadt\n"
            'image_credit: "Grafik: Stadt"\n',
        }
    )
    out = tmp_path / "out"
    build_site_at(root, output=out)
    og = {m.get("property"): m.get("content") for m in page(out, "index.html").xpath("//meta")}
    assert og["og:image"].startswith("https://example.org/medien/vorschau-og.")
    assert og["og:image:alt"] == "Logo der Stadt"
