"""The ``files`` spider: articles from local files."""

from __future__ import annotations

import fnmatch
import logging
import os
from stat import S_ISREG
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from scrapy import Request
from scrapy.http import Response
from twisted.python.failure import Failure

from crawler.bodies import too_large
from crawler.errors import SpiderArgumentError
from crawler.guards import LOCAL_FILE
from crawler.incremental import body_hash, file_version
from crawler.items import Fetch, Page, Skipped, Unchanged
from crawler.spiders import SieveSpider

logger = logging.getLogger(__name__)

KINDS = {".txt": "text", ".text": "text", ".html": "html", ".htm": "html", ".xhtml": "html"}


def kind_of(path: Path) -> str | None:
    """``html``, ``text`` or None, from the file name (``.gz`` looked through)."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes.pop()
    return KINDS.get(suffixes[-1]) if suffixes else None


class FilesSpider(SieveSpider):
    """Read articles from local files.

    Arguments (``-a name=value``):

    ``path``
        A file, or a folder searched recursively in sorted order. Hidden
        files and folders (names starting with a dot) are left out.
    ``glob``
        Optional: only files whose name matches this pattern (``*.html``).

    Files ending in ``.txt`` or ``.text`` are read as plain text, ``.html``,
    ``.htm`` and ``.xhtml`` as HTML, each also gzipped (``.gz``). Files of
    other types, and files larger than ``SIEVE_MAX_BYTES``, are recorded as
    skipped without being read. Files whose size and modification time have
    not changed since they were last read are not read again. The files are
    fetched as ``file://`` requests, so settings, stats and pipelines apply
    as for web pages.
    """

    name = "files"
    # One file at a time: the files then reach the pipeline in sorted order,
    # so a run over the same folder is repeatable. The web's manners (delays,
    # AutoThrottle) have no purpose on a local disk.
    custom_settings = {"CONCURRENT_REQUESTS": 1, "AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0}

    def __init__(self, path: str | None = None, glob: str | None = None, **kwargs: Any):
        super().__init__(path=path, glob=glob, **kwargs)
        if not path:
            raise SpiderArgumentError("give the files to read with -a path=FILE_OR_FOLDER")
        self.root = Path(path).expanduser()
        if not self.root.exists():
            raise SpiderArgumentError(f"path does not exist: {path}")
        self.glob = glob

    def files(self) -> Iterator[Path]:
        if not self.root.is_dir():
            yield self.root
            return
        for folder, subfolders, names in os.walk(self.root):
            subfolders[:] = sorted(d for d in subfolders if not d.startswith("."))
            for name in sorted(names):
                if not name.startswith(".") and (not self.glob or fnmatch.fnmatch(name, self.glob)):
                    yield Path(folder, name)

    async def start(self) -> AsyncIterator[Any]:
        max_bytes = self.settings.getint("SIEVE_MAX_BYTES")
        # A second walk costs little against reading the files, and gives the
        # progress line its total (crawler.progress).
        self.expected_documents = sum(1 for _ in self.files())
        for path in self.files():
            url = path.resolve().as_uri()
            kind = kind_of(path)
            if kind is None:
                yield Skipped(url, "unsupported-type", f"{''.join(path.suffixes) or 'no extension'} is not a text or HTML file")
                continue
            try:
                stat = path.stat()
            except OSError as exc:
                yield Skipped(url, "unreadable", str(exc))
                continue
            if not S_ISREG(stat.st_mode):
                # A named pipe or a device would block the read, or never end.
                yield Skipped(url, "not-a-file", "not a regular file (a named pipe, socket or device)")
                continue
            if stat.st_size > max_bytes:
                refusal = too_large(stat.st_size, max_bytes)
                yield Skipped(url, refusal.reason, refusal.detail)
                continue
            version = file_version(stat.st_size, stat.st_mtime_ns)
            if unchanged := self.incremental.unchanged_file(url, version):
                yield unchanged
                continue
            yield Request(
                url,
                callback=self.parse,
                errback=self.unreadable,
                cb_kwargs={"kind": kind, "version": version},
                meta={LOCAL_FILE: True},
            )

    def parse(self, response: Response, kind: str, version: str) -> Iterator[Page | Unchanged]:
        path = Path(response.url.removeprefix("file://"))
        fetch = Fetch(etag=version, body_hash=body_hash(response.body))
        if unchanged := self.incremental.unchanged_response(response, fetch):
            yield unchanged
            return
        yield Page(url=response.url, body=response.body, kind=kind, source=path.parent.name, fetch=fetch)

    def unreadable(self, failure: Failure) -> Iterator[Skipped]:
        yield Skipped(failure.request.url, "unreadable", str(failure.value))
