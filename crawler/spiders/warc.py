"""The ``warc`` spider: pages from web archives."""

from __future__ import annotations

import glob
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.http import Response

from crawler.errors import SpiderArgumentError
from crawler.items import ArchiveRecord, Page, Skipped
from crawler.listings import parse_time
from crawler.pages import page_from_response
from crawler.spiders import ItemsInFlight, SieveSpider
from crawler.storage.connection import stored_time
from crawler.warc_records import ArchivedResponse, read_records
from crawler.web_urls import is_web_url

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

WARC_SUFFIXES = (".warc", ".warc.gz")
#: Pages read ahead of the pipeline: enough to keep the worker processes busy.
PAGES_IN_FLIGHT = 32


class WarcSpider(SieveSpider):
    """Read pages from WARC files (web archives: Common Crawl's CC-NEWS,
    other crawlers', or Sieve's own ``SIEVE_WARC_OUTPUT``).

    Arguments (``-a name=value``):

    ``path``
        A WARC file (``.warc``, ``.warc.gz``: records gzipped one by one or
        the whole file), a folder (its WARC files, recursively), or a glob
        pattern (``cc-news/*.warc.gz``); files are read in sorted order.
    ``articles_only``
        ``true``: store a page only if it reads as an article, as the site
        crawl does (archives of news sites hold index and listing pages).

    Each ``response`` record with status 200 and an HTML or plain text body
    is a page, under the record's target URI, fetched at its ``WARC-Date``
    (a 304 is ``not-modified``). Responses with another status or content
    type, revisit records, and records that are cut short or fail their
    digest are recorded as skipped with the reason; redirects and robots.txt
    are counted (``sieve/warc/not_pages``), as are requests, metadata and
    warcinfo records (``sieve/warc/records/<type>``). Nothing is fetched
    from the network.
    """

    name = "warc"

    def __init__(self, path: str = "", articles_only: str = "false", **kwargs: Any):
        super().__init__(path=path, articles_only=articles_only, **kwargs)
        if not path:
            raise SpiderArgumentError("give the WARC files: -a path=FILE, FOLDER or GLOB")
        if articles_only.lower() not in ("true", "false"):
            raise SpiderArgumentError(f"articles_only takes true or false, not {articles_only!r}")
        self.require_article = articles_only.lower() == "true"
        self.paths = warc_files(path)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.in_flight = ItemsInFlight(crawler)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        max_bytes = self.settings.getint("SIEVE_MAX_BYTES")
        for path in self.paths:
            logger.info("Reading %s", path)
            try:
                with path.open("rb") as stream:
                    for record in read_records(stream, max_bytes):
                        item = self.item_for(record, path)
                        if item is not None:
                            await self.in_flight.wait_until(PAGES_IN_FLIGHT - 1)
                            self.in_flight.add()
                            yield item
            except OSError as exc:  # not a WARC file, or unreadable: the files after it are still read
                self.in_flight.add()
                yield Skipped(path.resolve().as_uri(), "bad-warc", f"cannot be read as WARC: {exc}")

    def item_for(self, record: Any, path: Path) -> Any:
        stats = self.crawler.stats
        if isinstance(record, Skipped):
            return record
        if not isinstance(record, ArchivedResponse):
            stats.inc_value(f"sieve/warc/records/{record.kind}")
            if record.kind == "revisit" and record.url:
                return Skipped(record.url, "warc-revisit", "a revisit record: the archive points to an earlier copy")
            return None
        stats.inc_value("sieve/warc/records/response")
        if not is_web_url(record.url):
            return Skipped(record.url, "bad-url", "the record's target is not an http or https URL")
        if 300 <= record.status < 400 and record.status != 304 or record.url.endswith("/robots.txt"):
            # A redirect's target is a record of its own; robots.txt is no page.
            stats.inc_value("sieve/warc/not_pages")
            return None
        if record.status not in (200, 304):
            return Skipped(record.url, f"http-{record.status}", f"the archived response has status {record.status}")
        response = Response(
            record.url, status=record.status, headers=record.headers, body=record.body, request=Request(record.url)
        )
        item = page_from_response(response, self.incremental, record.url, require_article=self.require_article)
        if item.fetch is not None and (fetched := parse_time(record.date)):
            item.fetch.fetched_at = stored_time(fetched)
        if isinstance(item, Page):
            item.archive_record = ArchiveRecord(str(path.resolve()), record.offset, record.record_id)
        return item


def warc_files(pattern: str) -> list[Path]:
    """The WARC files ``pattern`` names, sorted; a wrong one is one line."""
    path = Path(pattern).expanduser()
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(WARC_SUFFIXES))
    elif path.is_file():
        files = [path]
    elif glob.has_magic(pattern):
        files = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
    else:
        raise SpiderArgumentError(f"path {pattern!r} is neither a file, a folder nor a glob pattern that exists")
    if not files:
        raise SpiderArgumentError(f"no WARC files (.warc, .warc.gz) in {pattern}")
    return files
