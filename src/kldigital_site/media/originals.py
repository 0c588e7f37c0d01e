"""The downloadable original: the editor's file without what must not be published.

Input: the source file, its ``Facts``, the credit and copyright notice to carry.
Output: the bytes published at the file's own address under ``medien/`` and put
into the press-photo ZIP. No GPS or location data, no camera or lens serial
numbers, no maker notes, no embedded thumbnails or previews of the uncropped
picture survive; the credit and copyright notice are written in as XMP and IPTC,
where agencies' and newsrooms' software reads them.

A JPEG is not decoded: its metadata segments are rewritten and the compressed
picture is copied byte for byte, so a journalist gets the photographer's quality
(lossless). Other formats are saved again by Pillow with only the credit.
"""

from __future__ import annotations

import io
from html import escape
from pathlib import Path

from kldigital_site.media.facts import Facts

# Segments a decoder needs: JFIF, ICC profile (APP2 "ICC_PROFILE"), Adobe (APP14: how
# to read CMYK), tables, frame headers. Everything else (APP1 EXIF/XMP with GPS and
# serials, APP13 IPTC, maker notes in APPn, APP2 MPF previews, comments) is dropped.
_APP0, _APP1, _APP2, _APP13, _APP14 = 0xE0, 0xE1, 0xE2, 0xED, 0xEE
_SOS, _EOI, _COM = 0xDA, 0xD9, 0xFE


class BrokenJpeg(ValueError):
    pass


def xmp_packet(credit: str, notice: str) -> bytes:
    credit_attr, notice_text = escape(credit, quote=True), escape(notice, quote=False)
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        f'photoshop:Credit="{credit_attr}">'
        f'<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">{notice_text}</rdf:li>'
        "</rdf:Alt></dc:rights>"
        "</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="r"?>'
    ).encode()


def _iptc_block(credit: str, notice: str) -> bytes:
    def dataset(record: int, number: int, value: bytes) -> bytes:
        return b"\x1c" + bytes((record, number)) + len(value).to_bytes(2, "big") + value

    # 1:90 ESC % G declares UTF-8 (IPTC IIM 4.2); 2:110 credit line, 2:116 copyright.
    iptc = (
        dataset(1, 90, b"\x1b%G")
        + dataset(2, 0, b"\x00\x04")
        + dataset(2, 110, credit.encode()[:32000])
        + dataset(2, 116, notice.encode()[:32000])
    )
    resource = b"8BIM" + (0x0404).to_bytes(2, "big") + b"\x00\x00" + len(iptc).to_bytes(4, "big")
    resource += iptc + (b"\x00" if len(iptc) % 2 else b"")
    return b"Photoshop 3.0\x00" + resource


def _segment(marker: int, payload: bytes) -> bytes:
    if len(payload) + 2 > 0xFFFF:
        raise ValueError("segment too long")
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def clean_jpeg(data: bytes, orientation: int, credit: str, notice: str) -> bytes:
    """The JPEG with its metadata replaced; the compressed picture is untouched."""
    if data[:2] != b"\xff\xd8":
        raise BrokenJpeg("no SOI")
    kept: list[bytes] = []
    pos = 2
    while True:
        while (
            pos < len(data) and data[pos] == 0xFF and pos + 1 < len(data) and data[pos + 1] == 0xFF
        ):
            pos += 1  # fill bytes
        if pos + 4 > len(data) or data[pos] != 0xFF:
            raise BrokenJpeg("truncated header")
        marker = data[pos + 1]
        length = int.from_bytes(data[pos + 2 : pos + 4], "big")
        end = pos + 2 + length
        if end > len(data) or length < 2:
            raise BrokenJpeg("truncated segment")
        payload = data[pos + 4 : end]
        if marker == _SOS:
            scan = data[pos:]
            # The first EOI after the scans ends the picture; what follows (the previews
            # of MPF files, vendor trailers) is not published.
            eoi = _find_eoi(scan)
            body = scan[: eoi + 2] if eoi >= 0 else scan
            break
        keep = (
            (marker == _APP0 and payload.startswith(b"JFIF"))
            or (marker == _APP2 and payload.startswith(b"ICC_PROFILE\x00"))
            or (marker == _APP14 and payload.startswith(b"Adobe"))
            or not (0xE0 <= marker <= 0xEF or marker == _COM)
        )
        if keep:
            kept.append(data[pos:end])
        pos = end
    inserted: list[bytes] = []
    if orientation != 1:
        from PIL import Image  # where needed (media/facts.py says why)

        exif = Image.Exif()
        exif[0x0112] = orientation  # the pixels are not rotated: keep how to show them
        inserted.append(_segment(_APP1, exif.tobytes()))
    inserted.append(
        _segment(_APP1, b"http://ns.adobe.com/xap/1.0/\x00" + xmp_packet(credit, notice))
    )
    inserted.append(_segment(_APP13, _iptc_block(credit, notice)))
    # JFIF's APP0 must come first when it is there.
    head = [k for k in kept if k[1] == _APP0][:1]
    rest = [k for k in kept if k not in head]
    return b"\xff\xd8" + b"".join(head + inserted + rest) + body


def _find_eoi(scan: bytes) -> int:
    pos = scan.find(b"\xff\xd9")
    return pos


def clean_other(path: Path, facts: Facts, credit: str, notice: str) -> bytes:
    """PNG, WebP, TIFF, GIF: saved again in their format, with only credit and notice."""
    from PIL import Image, ImageOps, PngImagePlugin  # where needed (media/facts.py says why)

    with Image.open(path) as opened:
        image = ImageOps.exif_transpose(opened)
        image.info = {k: v for k, v in image.info.items() if k in ("transparency", "duration")}
        out = io.BytesIO()
        packet = xmp_packet(credit, notice)
        if facts.format == "PNG":
            info = PngImagePlugin.PngInfo()
            info.add_itxt("XML:com.adobe.xmp", packet.decode())
            info.add_itxt("Copyright", notice)
            info.add_itxt("Author", credit)
            image.save(out, "PNG", pnginfo=info)
        elif facts.format == "WEBP":
            image.save(out, "WEBP", quality=92, method=4, xmp=packet)
        elif facts.format == "TIFF":
            ascii_notice = notice.encode("ascii", "replace").decode()
            image.save(
                out,
                "TIFF",
                compression="tiff_adobe_deflate",
                tiffinfo={700: packet, 33432: ascii_notice},
            )
        else:
            image.save(out, "GIF", comment=f"{credit} – {notice}".encode())
        return out.getvalue()
