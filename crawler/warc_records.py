"""Web archives (WARC): reading the responses a WARC file holds, for the
``warc`` spider, and writing the responses a crawl downloads, with
``SIEVE_WARC_OUTPUT``.

Reading: fastwarc splits a file into records, whether each record is
gzipped on its own (``.warc.gz``, as Common Crawl writes them), the whole
file is one gzip stream, or nothing is. Sieve reads each record's block
itself, checks it against its declared length and digest, and parses its
HTTP response, so that a record cut short (a truncated file) or altered is
named as such rather than read as a shorter page. One record is in memory
at a time, and never one larger than ``SIEVE_MAX_BYTES``.

Writing: :class:`WarcArchiveMiddleware` writes a request and a response
record for every response downloaded, headers and body as they came off
the wire (compressed bodies stay compressed), with warcio, one gzip member
per record, flushed as it is written.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import socket
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from io import BytesIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from scrapy.exceptions import NotConfigured
from scrapy.utils.httpobj import urlparse_cached
from scrapy.utils.response import response_status_message

from crawler.bodies import Unreadable, gunzip
from crawler.items import Skipped

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scrapy import Request
    from scrapy.crawler import Crawler
    from scrapy.http import Response
    from typing_extensions import Self

logger = logging.getLogger(__name__)


@dataclass
class ArchivedResponse:
    url: str
    #: ``WARC-Date``, as the record gives it.
    date: str
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    #: Where the record starts in the file (in its compressed bytes, for a
    #: file gzipped record by record), and its ``WARC-Record-ID``.
    offset: int = 0
    record_id: str | None = None


@dataclass
class OtherRecord:
    """A record that is not a response: its type, and its URL if any."""

    kind: str
    url: str | None


def read_records(stream: BinaryIO, max_bytes: int) -> Iterator[ArchivedResponse | OtherRecord | Skipped]:
    """The records of a WARC file in order; a response that cannot be used
    is skipped with the reason (``warc-truncated``, ``warc-bad-digest``,
    ``too-large``...). A file that ends inside a record ends there, after
    every whole record before it."""
    from fastwarc.warc import ArchiveIterator

    for record in ArchiveIterator(stream, parse_http=False):
        kind = str(record.record_type)
        url = record.headers.get("WARC-Target-URI")
        if kind != "response" or not url:
            yield OtherRecord("response-without-uri" if kind == "response" else kind, url)
            continue
        declared = record.content_length
        if declared > max_bytes + 64 * 1024:  # room for the HTTP headers
            yield Skipped(url, "too-large", f"a record of {declared} bytes is more than SIEVE_MAX_BYTES ({max_bytes})")
            continue
        block = record.reader.read()
        try:
            if len(block) < declared:
                raise Unreadable("warc-truncated", f"the file ends inside this record ({len(block)} of {declared} bytes)")
            _check_digest(record.headers.get("WARC-Block-Digest"), block)
            status, headers, body = parse_http_response(block, max_bytes)
        except Unreadable as exc:
            yield Skipped(url, exc.reason, exc.detail)
            continue
        date = record.headers.get("WARC-Date") or ""
        yield ArchivedResponse(url, date, status, headers, body, record.stream_pos, record.headers.get("WARC-Record-ID"))


def _check_digest(header: str | None, block: bytes) -> None:
    if not header or ":" not in header:
        return
    algorithm, _, expected = header.partition(":")
    if algorithm.lower() != "sha1":
        return  # the only one WARC writers use in practice; others are not checked
    digest = hashlib.sha1(block).digest()
    if expected.strip().upper() not in (base64.b32encode(digest).decode(), digest.hex().upper()):
        raise Unreadable("warc-bad-digest", "the record's block does not match its WARC-Block-Digest")


def parse_http_response(block: bytes, max_bytes: int) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of an HTTP response as archived: chunked
    transfer and gzip or deflate content encoding undone."""
    head, separator, body = block.partition(b"\r\n\r\n")
    if not separator:
        head, separator, body = block.partition(b"\n\n")
    lines = head.decode("latin-1").splitlines()
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError):
        raise Unreadable("warc-bad-http", "the record holds no HTTP response") from None
    headers = [(name.strip(), value.strip()) for name, _, value in (line.partition(":") for line in lines[1:]) if name.strip()]
    values = {name.lower(): value.lower() for name, value in headers}
    if "chunked" in values.get("transfer-encoding", ""):
        body = _dechunk(body)
    encoding = values.get("content-encoding", "identity")
    if encoding in ("gzip", "x-gzip"):
        body = gunzip(body, max_bytes)
    elif encoding == "deflate":
        body = _inflate(body, max_bytes)
    elif encoding not in ("identity", ""):
        raise Unreadable("unsupported-encoding", f"the body is encoded as {encoding}")
    if len(body) > max_bytes:
        raise Unreadable("too-large", f"{len(body)} bytes is more than SIEVE_MAX_BYTES ({max_bytes})")
    # The body is now as Scrapy would give it: these no longer describe it.
    headers = [(n, v) for n, v in headers if n.lower() not in ("content-encoding", "transfer-encoding", "content-length")]
    return status, headers, body


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while True:
        line, separator, data = data.partition(b"\r\n")
        try:
            size = int(line.split(b";")[0].strip() or b"x", 16)
        except ValueError:
            raise Unreadable("warc-bad-http", "the chunked body is malformed") from None
        if not separator or size == 0:
            return bytes(out)
        out += data[:size]
        data = data[size + 2 :]


def _inflate(data: bytes, max_bytes: int) -> bytes:
    for wbits in (zlib.MAX_WBITS, -zlib.MAX_WBITS):  # with a zlib header, as the standard says, or raw
        inflater = zlib.decompressobj(wbits=wbits)
        try:
            out = inflater.decompress(data, max_bytes + 1)
        except zlib.error:
            continue
        if len(out) > max_bytes:
            raise Unreadable("too-large", f"it decompresses to more than SIEVE_MAX_BYTES ({max_bytes} bytes)")
        return out
    raise Unreadable("bad-gzip", "the deflate data is corrupt")


class WarcArchiveMiddleware:
    """Writes what the web spiders download to ``SIEVE_WARC_OUTPUT`` (a
    folder): ``sieve-<time>-<host>-<pid>-<n>.warc.gz``, a new file past
    ``SIEVE_WARC_MAX_BYTES``. A file is written as ``….warc.gz.open`` and
    renamed when closed, so readers never see a file that is still
    growing; a killed crawl leaves its ``.open`` file readable up to the
    last whole record."""

    def __init__(self, folder: Path, max_bytes: int, stats: Any):
        self.folder = folder
        self.max_bytes = max_bytes
        self.stats = stats
        self.prefix = f"sieve-{datetime.now(timezone.utc):%Y%m%d%H%M%S}-{socket.gethostname()}-{os.getpid()}"
        self.serial = 0
        self.file: BinaryIO | None = None
        self.path: Path | None = None
        self.writer: Any = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        from scrapy import signals

        folder = crawler.settings.get("SIEVE_WARC_OUTPUT")
        if not folder:
            raise NotConfigured  # off unless asked for: no warning (Scrapy logs a reason as one)
        middleware = cls(Path(folder), crawler.settings.getint("SIEVE_WARC_MAX_BYTES"), crawler.stats)
        middleware.folder.mkdir(parents=True, exist_ok=True)
        crawler.signals.connect(middleware.close, signal=signals.spider_closed)
        return middleware

    def process_response(self, request: Request, response: Response) -> Response:
        from warcio.statusandheaders import StatusAndHeaders

        if not response.url.startswith(("http://", "https://")):
            return response
        writer = self._writer()
        date = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        target = request.url
        url = urlparse_cached(request)
        path = (url.path or "/") + (f"?{url.query}" if url.query else "")
        request_headers = StatusAndHeaders(f"{request.method} {path} HTTP/1.1", _header_list(request.headers), is_http_request=True)
        # Scrapy has undone chunked transfer: say what the body is now.
        response_headers = [(n, v) for n, v in _header_list(response.headers) if n.lower() not in ("transfer-encoding", "content-length")]
        response_headers.append(("Content-Length", str(len(response.body))))
        status = StatusAndHeaders(response_status_message(response.status), response_headers, protocol="HTTP/1.1")
        for record in (
            writer.create_warc_record(target, "response", payload=BytesIO(response.body), http_headers=status, warc_headers_dict={"WARC-Date": date}),
            writer.create_warc_record(target, "request", payload=BytesIO(request.body), http_headers=request_headers, warc_headers_dict={"WARC-Date": date}),
        ):
            writer.write_record(record)
        assert self.file is not None
        self.file.flush()
        self.stats.inc_value("sieve/warc/responses_written")
        if self.file.tell() >= self.max_bytes:
            self._close_file()
        return response

    def _writer(self) -> Any:
        from warcio.warcwriter import WARCWriter

        if self.writer is None:
            self.serial += 1
            self.path = self.folder / f"{self.prefix}-{self.serial:05d}.warc.gz.open"
            self.file = self.path.open("xb")
            self.writer = WARCWriter(self.file, gzip=True)
            self.writer.write_record(self.writer.create_warcinfo_record(self.path.name[: -len(".open")], {"software": "Sieve"}))
        return self.writer

    def _close_file(self) -> None:
        if self.file is None or self.path is None:
            return
        self.file.close()
        self.path.rename(self.path.with_suffix(""))  # drops ".open"
        self.file = self.writer = None

    def close(self) -> None:
        self._close_file()


def _header_list(headers: Any) -> list[tuple[str, str]]:
    return [(name.decode("latin-1"), value.decode("latin-1")) for name, values in headers.items() for value in values]
