"""From the bytes of a fetched document to text, or to a clear reason why not.

Used by the extraction stage. The order of evidence for the encoding is the
browser's: byte-order mark, HTTP header, then UTF-16 or UTF-32 when the NUL
bytes fall where those encodings put them and the bytes decode (no
``<meta charset>`` can be read before), ``<meta charset>`` (HTML only), UTF-8
if the bytes are valid UTF-8, else Windows-1252. One exception to the
browser's order: bytes that are valid UTF-8 and hold characters beyond
ASCII are read as UTF-8 whatever ``<meta charset>`` says (a page saved or
served as UTF-8 under its old template's gb2312 or iso-8859-1): text in
another encoding is almost never valid UTF-8 by chance. Statistical guessing is
left out on purpose: on short Latin-1 texts it picks cp1250 or cp1006 and
turns "crème brûlée" into "crčme brűlée".
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from w3lib.encoding import html_to_unicode, http_content_type_encoding, resolve_encoding

from crawler.bodies import Unreadable

# Formats that turn up under text-like names or with text content types.
MAGIC_NUMBERS = {
    b"%PDF-": "a PDF document",
    b"\x89PNG\r\n\x1a\n": "a PNG image",
    b"GIF87a": "a GIF image",
    b"GIF89a": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"PK\x03\x04": "a ZIP archive (or an Office document)",
    b"\x7fELF": "an ELF executable",
    b"BZh": "a bzip2 archive",
    b"\xfd7zXZ\x00": "an xz archive",
    b"SQLite format 3\x00": "an SQLite database",
    b"RIFF": "a RIFF media file",
    b"OggS": "an Ogg media file",
    b"ID3": "an MP3 file",
}

BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)

# C0 controls other than tab, newline, vertical tab, form feed and carriage
# return, DEL and the C1 controls: they do not belong in text.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
# Out of HTML, also what trafilatura's load_html removes before it parses:
# vertical tab, form feed, U+FFFE and U+FFFF. Removed here, they need no
# second pass over the page (pipelines.trafilatura_patches.load_html).
_NOT_IN_HTML = re.compile(r"[\x0b\x0c\ufffe\uffff]")
# The same characters in UTF-8, looked for in C: most pages have none, and
# encoding a page and scanning the bytes takes half the time of one regular
# expression over the text.
_CONTROL_BYTES = bytes([*range(0x09), *range(0x0E, 0x20), 0x7F])
_C1_UTF8 = re.compile(rb"\xc2[\x80-\x9f]")
# A text with more than this share of control characters is binary data.
MAX_CONTROL_SHARE = 0.01
# How much of a document without a byte-order mark is read to tell UTF-16
# and UTF-32 from binary data.
SNIFF_BYTES = 4096
# Controls, unassigned code points and private use: what a document read in
# the wrong encoding is full of.
NOT_TEXT_CATEGORIES = frozenset({"Cc", "Cn", "Co"})


def sniff_binary(data: bytes) -> str | None:
    """Name the binary format ``data`` starts with, if it is a known one."""
    for magic, name in MAGIC_NUMBERS.items():
        if data.startswith(magic):
            return name
    return None


def _bom_encoding(data: bytes) -> str | None:
    for bom, encoding in BOMS:
        if data.startswith(bom):
            return encoding
    return None


def _read_utf16_or_32_without_bom(data: bytes) -> str | None:
    """``data`` read as UTF-16 or UTF-32 without a byte-order mark, or None
    if it is in neither.

    Text in these encodings has NUL bytes in fixed places: UTF-32 in the
    top byte of every four, UTF-16 in the high byte of every character
    below U+0100 (spaces, newlines, markup), which is the odd byte of each
    pair in little-endian order and the even one in big-endian; characters
    of other scripts may add a few NULs in the other place (U+AC00, U+4E00).
    So the order with more NULs in the high bytes is tried first, and an
    encoding is taken only if all of ``data`` decodes strictly and the
    start reads as text: random or binary data fails one or the other."""
    sample = data[:SNIFF_BYTES]
    high_byte_nuls_le, high_byte_nuls_be = sample[1::2].count(0), sample[0::2].count(0)
    utf16 = ["utf-16-le", "utf-16-be"] if high_byte_nuls_le >= high_byte_nuls_be else ["utf-16-be", "utf-16-le"]
    for encoding in ["utf-32-le", "utf-32-be", *utf16]:
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        start = text[: SNIFF_BYTES // 2]
        not_text = sum(unicodedata.category(c) in NOT_TEXT_CATEGORIES and c not in "\t\n\r\x0b\x0c" for c in start)
        if not_text <= MAX_CONTROL_SHARE * len(start):
            return text
    return None


def _utf8_or_cp1252(data: bytes) -> str:
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def _utf8_beyond_ascii(data: bytes) -> str | None:
    """``data`` as UTF-8, if it is valid UTF-8 and not ASCII alone."""
    if data.isascii():
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _decode(data: bytes, encoding: str) -> str:
    if resolve_encoding(encoding) == "cp1252":
        # Five bytes are undefined in cp1252; read them as Latin-1 (C1
        # controls) rather than failing or inserting U+FFFD.
        return data.decode("cp1252", errors="latin1fallback")
    return data.decode(encoding, errors="replace")


def _latin1_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    bad = error.object[error.start : error.end]
    return bytes(bad).decode("latin-1"), error.end


codecs.register_error("latin1fallback", _latin1_fallback)


def _has_characters_to_remove(text: str, *, html: bool) -> bool:
    data = text.encode("utf-8", "surrogatepass")
    deleted = (_CONTROL_BYTES + b"\x0b\x0c") if html else _CONTROL_BYTES
    if len(data.translate(None, deleted)) != len(data) or _C1_UTF8.search(data):
        return True
    return html and (b"\xef\xbf\xbe" in data or b"\xef\xbf\xbf" in data)


def decode(data: bytes, *, html: bool, content_type: str | None = None) -> str:
    """Return ``data`` as text, or raise :class:`Unreadable`.

    The result has no NUL or other control characters (SQLite and downstream
    tools choke on them; HTML loses vertical tabs, form feeds, U+FFFE and
    U+FFFF too) and normalised newlines.
    """
    if not data.strip():
        raise Unreadable("empty", "the document is empty or only whitespace")
    binary = sniff_binary(data)
    if binary:
        raise Unreadable("binary", f"the content is {binary}, not text")

    declared = _bom_encoding(data) or http_content_type_encoding(content_type)
    if not declared and b"\x00" in data and (wide := _read_utf16_or_32_without_bom(data)) is not None:
        # Re-encode with a UTF-8 BOM so that both paths below read it right.
        data = codecs.BOM_UTF8 + wide.encode("utf-8")
    if html and not declared and (utf8 := _utf8_beyond_ascii(data)) is not None:
        text = utf8
    elif html:
        # w3lib follows BOM, header and <meta charset>, in that order.
        _, text = html_to_unicode(content_type, data, auto_detect_fun=_utf8_or_cp1252)
    else:
        text = _decode(data, _bom_encoding(data) or declared or _utf8_or_cp1252(data))
    text = text.lstrip("\ufeff")

    if _has_characters_to_remove(text, html=html):
        cleaned = _CONTROL.sub("", text)
        controls = len(text) - len(cleaned)
        if controls > MAX_CONTROL_SHARE * len(text):
            raise Unreadable("binary", f"{controls} of {len(text)} characters are control characters")
        text = _NOT_IN_HTML.sub("", cleaned) if html else cleaned
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise Unreadable("empty", "the document is empty or only whitespace")
    return unicodedata.normalize("NFC", text)
