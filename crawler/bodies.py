"""The size limit on a document (``SIEVE_MAX_BYTES``) and the one gunzip
that applies it: used on pages by the extraction stage and on sitemaps by
the sitemap spider. Downloads are cut at the same limit by Scrapy
(``DOWNLOAD_MAXSIZE``, set from it), local files before they are read."""

from __future__ import annotations

import zlib


class Unreadable(ValueError):
    """The document cannot be used; ``reason`` is a short code (the skip reason)."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


GZIP_MAGIC = b"\x1f\x8b"


def too_large(size: int, max_bytes: int) -> Unreadable:
    return Unreadable("too-large", f"{size} bytes is more than SIEVE_MAX_BYTES ({max_bytes})")


def gunzip(data: bytes, max_bytes: int) -> bytes:
    """Decompress gzip data (possibly several members), refusing to produce
    more than ``max_bytes`` and refusing a stream that stops early."""
    out = bytearray()
    while data:
        inflater = zlib.decompressobj(wbits=31)
        try:
            out += inflater.decompress(data, max_bytes + 1 - len(out))
        except zlib.error as exc:
            raise Unreadable("bad-gzip", f"the gzip data is corrupt ({exc})") from None
        if len(out) > max_bytes:
            raise Unreadable("too-large", f"it decompresses to more than SIEVE_MAX_BYTES ({max_bytes} bytes)")
        if not inflater.eof:
            raise Unreadable("truncated-gzip", "the gzip data ends before the end of the stream")
        data = inflater.unused_data.lstrip(b"\x00")
        if data and not data.startswith(GZIP_MAGIC):
            raise Unreadable("bad-gzip", "there are stray bytes after the gzip data")
    return bytes(out)


def document_bytes(body: bytes, max_bytes: int) -> bytes:
    """The document's bytes, gunzipped if they are gzip, within ``max_bytes``."""
    if body.startswith(GZIP_MAGIC):
        return gunzip(body, max_bytes)
    if len(body) > max_bytes:
        raise too_large(len(body), max_bytes)
    return body
