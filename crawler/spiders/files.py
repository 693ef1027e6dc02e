"""The ``files`` spider: articles from local files."""

from __future__ import annotations

import fnmatch
import logging
import os
from collections import deque
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING, Any, NamedTuple

from scrapy import signals
from w3lib.url import safe_url_string

from crawler.bodies import too_large
from crawler.errors import SpiderArgumentError
from crawler.incremental import body_hash, file_version
from crawler.items import Fetch, Page, Skipped, Unchanged
from crawler.spiders import ItemsInFlight, SieveSpider

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

FILES_IN_FLIGHT = 32
#: Spider state key (kept in JOBDIR): the URL of the last file through the stages.
RESUME_AFTER = "resume_after"
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

    Symbolic links are followed inside the folder (each file read once);
    one that leads out of it (unless ``SIEVE_FILES_FOLLOW_LINKS``), round in
    a loop or to nothing, and a folder that cannot be listed, are skipped
    with their reason.

    Files ending in ``.txt`` or ``.text`` are read as plain text, ``.html``,
    ``.htm`` and ``.xhtml`` as HTML, each also gzipped (``.gz``). Files of
    other types, and files larger than ``SIEVE_MAX_BYTES``, are recorded as
    skipped without being read. Files whose size and modification time have
    not changed since they were last read are not read again.

    The spider reads the files itself, in order, at most
    ``FILES_IN_FLIGHT`` ahead of the stages (Scrapy's downloader would cost
    a millisecond of the crawl's process per file). With ``JOBDIR``, the
    last file whose document has left the stages is kept in the spider's
    state, and a resumed run starts after it.
    """

    name = "files"

    def __init__(self, path: str | None = None, glob: str | None = None, **kwargs: Any):
        super().__init__(path=path, glob=glob, **kwargs)
        if not path:
            raise SpiderArgumentError("give the files to read with -a path=FILE_OR_FOLDER")
        self.root = Path(path).expanduser()
        if not self.root.exists():
            raise SpiderArgumentError(f"path does not exist: {path}")
        self.glob = glob
        #: URLs yielded and not yet through the stages, oldest first: they
        #: leave in this order (pipelines.workers keeps it).
        self.pending: deque[str] = deque()
        #: Scrapy's SpiderState replaces it with the one kept in JOBDIR, if any.
        self.state: dict[str, Any] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.in_flight = ItemsInFlight(crawler)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(spider.document_done, signal=signal)
        return spider

    def files(self) -> Iterator[LocalFile | Skipped]:
        """The files to read in order, and a Skipped for each entry that is
        not read: a link out of the folder or round in a loop, a folder that
        cannot be listed."""
        if not self.root.is_dir():
            yield LocalFile(self.root, url_of(self.root))
            return
        real_root = self.root.resolve()
        yield from self._walk(self.root, real_root, ancestors=(real_root,), walked={real_root}, read=set())

    def _walk(
        self, folder: Path, real_root: Path, ancestors: tuple[Path, ...], walked: set[Path], read: set[Path]
    ) -> Iterator[LocalFile | Skipped]:
        """``folder``'s files, then its subfolders'; ``ancestors[-1]`` is
        ``folder`` with every link resolved."""
        # os.scandir rather than os.walk: os.walk drops a folder it cannot
        # list without a word, and follows no link or every link.
        try:
            with os.scandir(folder) as listing:
                entries = sorted((entry for entry in listing if not entry.name.startswith(".")), key=lambda e: e.name)
        except OSError as exc:
            yield Skipped(url_of(folder), "unreadable-folder", f"cannot list it: {exc.strerror or exc}")
            return
        subfolders = []
        for entry in entries:
            path = Path(entry.path)
            try:
                is_folder = entry.is_dir()
            except OSError:
                is_folder = False
            if not is_folder and self.glob and not fnmatch.fnmatch(entry.name, self.glob):
                continue
            real = path.resolve() if entry.is_symlink() else ancestors[-1] / entry.name
            if entry.is_symlink():
                if refusal := self._link_refusal(path, real, real_root, ancestors):
                    yield refusal
                    continue
            if is_folder:
                subfolders.append((path, real))
            elif real not in read:  # a file reached again through a link is read once
                read.add(real)
                yield LocalFile(path, file_url(real))
        for path, real in subfolders:
            if real in walked:  # a folder reached again through a link is read once
                continue
            walked.add(real)
            yield from self._walk(path, real_root, (*ancestors, real), walked, read)

    def _link_refusal(self, link: Path, target: Path, real_root: Path, ancestors: tuple[Path, ...]) -> Skipped | None:
        url = url_of(link, resolve=False)
        if not target.exists():
            return Skipped(url, "broken-link", f"a link to {printable(target)}, which does not exist")
        if target in ancestors:
            return Skipped(url, "link-loop", f"a link to {printable(target)}, a folder it is in")
        if not self.settings.getbool("SIEVE_FILES_FOLLOW_LINKS") and not target.is_relative_to(real_root):
            return Skipped(
                url, "link-outside", f"a link to {printable(target)}, outside the folder read (SIEVE_FILES_FOLLOW_LINKS)"
            )
        return None

    async def start(self) -> AsyncIterator[Any]:
        # A second walk costs little against reading the files, and gives the
        # progress line its total (crawler.progress).
        self.expected_documents = sum(1 for _ in self.files())
        resume_after = self.state.get(RESUME_AFTER)
        skipping = resume_after is not None and any(found.url == resume_after for found in self.files())
        if skipping:
            logger.info("Resuming the job after %s", resume_after)
        for found in self.files():
            url = found.url
            if skipping:
                skipping = url != resume_after
                self.expected_documents -= 1
                continue
            await self.in_flight.wait_until(FILES_IN_FLIGHT - 1)
            self.in_flight.add()
            self.pending.append(url)
            yield found if isinstance(found, Skipped) else self.document(found.path, url)

    def document(self, path: Path, url: str) -> Page | Skipped | Unchanged:
        kind = kind_of(path)
        if kind is None:
            return Skipped(
                url, "unsupported-type", f"{printable(''.join(path.suffixes)) or 'no extension'} is not a text or HTML file"
            )
        try:
            stat = path.stat()
            if not S_ISREG(stat.st_mode):
                # A named pipe or a device would block the read, or never end.
                return Skipped(url, "not-a-file", "not a regular file (a named pipe, socket or device)")
            max_bytes = self.settings.getint("SIEVE_MAX_BYTES")
            if stat.st_size > max_bytes:
                refusal = too_large(stat.st_size, max_bytes)
                return Skipped(url, refusal.reason, refusal.detail)
            version = file_version(stat.st_size, stat.st_mtime_ns)
            if unchanged := self.incremental.unchanged_file(url, version):
                return unchanged
            with path.open("rb") as file:
                body = file.read(max_bytes + 1)  # it may have grown since stat()
        except OSError as exc:
            return Skipped(url, "unreadable", printable(str(exc)))
        if len(body) > max_bytes:
            refusal = too_large(len(body), max_bytes)
            return Skipped(url, refusal.reason, refusal.detail)
        self.crawler.stats.inc_value("sieve/files/read")
        fetch = Fetch(etag=version, body_hash=body_hash(body))
        if unchanged := self.incremental.unchanged_body(url, fetch):
            return unchanged
        return Page(url=url, body=body, kind=kind, source=printable(path.parent.name), fetch=fetch)

    def document_done(self, *args: Any, **kwargs: Any) -> None:
        if self.pending:
            self.state[RESUME_AFTER] = self.pending.popleft()

    def closed(self, reason: str) -> None:
        if reason == "finished":  # nothing to resume: a new run reads everything
            self.state.pop(RESUME_AFTER, None)


class LocalFile(NamedTuple):
    """A file to read: its path as reached (through a link, the link's
    name) and its URL (:func:`url_of`)."""

    path: Path
    url: str


def url_of(path: Path, resolve: bool = True) -> str:
    """The file's URL, as Scrapy would have made it (and as earlier runs
    stored it); a name that is not UTF-8 is kept as its bytes, %-escaped.
    ``resolve=False``: the URL of a link itself, not of what it points to."""
    return file_url(path.resolve() if resolve else Path(os.path.realpath(path.parent), path.name))


def file_url(real: Path) -> str:
    """:func:`url_of` a path with every link already resolved."""
    return safe_url_string(real.as_uri(), "utf-8")


def printable(name: str) -> str:
    """A file name as text that can be stored and logged: the file system
    may hold names that are not UTF-8 (Python keeps such bytes as lone
    surrogates, which SQLite refuses)."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")
