"""Quoted-printable text for the press e-mail's parts (render/newsroom.py).

Input: a text part's str. Output: the bytes ``EmailMessage.set_content`` writes
for it with ``cte="quoted-printable"`` at lines of at most 76 characters, i.e.
``quoprimime.body_encode(lines, 76, "\\r\\n")`` of its UTF-8 lines joined by LF:
every byte but printable ASCII, tab and LF as "=XX", "=" included; lines longer
than 76 cut into 75 characters and a soft break "=", never inside an "=XX";
a space or tab that ends a line written as "=20"/"=09" where there is room.

The e-mail package escapes with ``str.translate`` over a 256-entry table, one
lookup per character, 0.2 ms for a release's two parts (of 0.9 ms for its .eml).
Here the few byte values that need escaping are found by deleting the safe ones
(``bytes.translate``) and each is replaced throughout in one pass; the lines are
cut as the e-mail package cuts them. ``binascii.b2a_qp`` is no shortcut: it cuts
lines at other places and escapes "." alone on a line. tests/test_newsroom.py
holds the result to the e-mail package's for any text.
"""

from __future__ import annotations

_LINE_LIMIT = 76  # RFC 2045 6.7
# A line is cut into pieces of at most this many characters and a soft break "=".
_PIECE = _LINE_LIMIT - 1
_SAFE = bytes(range(0x20, 0x7F)).replace(b"=", b"") + b"\t\n"
_ESCAPES = [b"=%02X" % byte for byte in range(256)]
_EQUALS = ord("=")
_BLANKS = (b" ", b"\t")


def encode_text(text: str) -> bytes:
    """``text`` as UTF-8, quoted-printable, in lines ending in CRLF (the last too)."""
    data = b"\n".join(text.encode("utf-8").splitlines()) + b"\n"
    return _cut_lines(_escape(data))


def _escape(data: bytes) -> bytes:
    unsafe = data.translate(None, _SAFE)
    if not unsafe:
        return data
    # "=" first: the escapes written for the other bytes start with one.
    if b"=" in unsafe:
        data = data.replace(b"=", _ESCAPES[_EQUALS])
    for byte in set(unsafe):
        if byte != _EQUALS:
            data = data.replace(bytes((byte,)), _ESCAPES[byte])
    return data


def _cut_lines(escaped: bytes) -> bytes:
    """The lines of ``escaped`` (LF after each) cut to 76 characters, as
    ``quoprimime.body_encode`` cuts them, ending in CRLF."""
    out: list[bytes] = []
    append = out.append
    for line in escaped.split(b"\n"):  # the last is empty: ``data`` ends in LF
        size = len(line)
        blank_end = line.endswith(_BLANKS)
        if size <= _LINE_LIMIT and not blank_end:
            append(line)
            continue
        start = 0
        last_start = size - 1 - _LINE_LIMIT  # a piece starts here or earlier
        while start <= last_start:
            stop = start + _PIECE
            # The soft break goes before an escape that would not fit whole; the
            # escape's own "=" is the soft break, and starts the next line too.
            if line[stop - 2] == _EQUALS:
                append(line[start : stop - 1])
                start = stop - 2
            elif line[stop - 1] == _EQUALS:
                append(line[start:stop])
                start = stop - 1
            else:
                append(line[start:stop] + b"=")
                start = stop
        if blank_end:
            # A space or tab at the end of a line would be lost in transport.
            room = start - last_start
            blank = line[-1:]
            if room >= 3:
                append(line[start:-1] + _ESCAPES[blank[0]])
            elif room == 2:
                append(line[start:-1] + blank + b"=\r\n")
            else:
                append(line[start:-1] + b"=\r\n" + _ESCAPES[blank[0]])
        else:
            append(line[start:])
    return b"\r\n".join(out)
