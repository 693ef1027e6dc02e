"""What the web spiders share: the spider base class, turning responses and
failures into items, and reading URL lists, sitemaps and feeds."""

from __future__ import annotations

import logging
import re
import sys
from datetime import datetime, timezone
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

from lxml import etree
from scrapy import Request
from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.incremental import PAGE, PREVIOUS, body_hash, previous_fetch
from crawler.items import Fetch, Page, Skipped, Unchanged
from crawler.errors import SpiderArgumentError
from crawler.spiders import SieveSpider
from pipelines.extract import host_of

if TYPE_CHECKING:
    from typing_extensions import Self

    from scrapy.crawler import Crawler

logger = logging.getLogger(__name__)

HTML_TYPES = {"text/html", "application/xhtml+xml"}
TEXT_TYPES = {"text/plain"}
XML_PARSER = etree.XMLParser(recover=True, remove_comments=True, resolve_entities=False, no_network=True)


def content_type_of(response: Response) -> tuple[str, str | None]:
    """The media type (lower case, no parameters) and the whole header."""
    header = response.headers.get("Content-Type")
    if not header:
        return "", None
    full = header.decode("latin-1")
    return full.split(";", 1)[0].strip().lower(), full


def page_from_response(response: Response, *, require_article: bool = False) -> Page | Skipped | Unchanged:
    if response.status == 304:
        return Unchanged(response.url, "not-modified")
    media_type, header = content_type_of(response)
    fetch = Fetch(
        etag=_header(response, "ETag"), last_modified=_header(response, "Last-Modified"), body_hash=body_hash(response.body)
    )
    previous = response.meta.get(PREVIOUS)
    if previous is not None and previous.fetch.body_hash == fetch.body_hash:
        return Unchanged(response.url, "same-body", fetch)
    if media_type in HTML_TYPES:
        kind = "html"
    elif media_type in TEXT_TYPES:
        kind = "text"
    else:
        return Skipped(response.url, "unsupported-type", f"the content type is {media_type or 'missing'}, not HTML or text")
    return Page(
        url=response.url,
        body=response.body,
        kind=kind,
        content_type=header,
        source=host_of(response.url),
        require_article=require_article,
        fetch=fetch,
    )


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def skipped_from_failure(failure: Failure) -> Skipped:
    """Why a request came to nothing, as a Skipped item."""
    request = failure.request  # type: ignore[attr-defined]
    error = failure.value
    if isinstance(error, HttpError):
        status = error.response.status
        return Skipped(request.url, f"http-{status}", f"the server answered {status}")
    if isinstance(error, IgnoreRequest) and "robots.txt" in str(error):
        return Skipped(request.url, "robots-denied", "robots.txt forbids fetching it")
    if isinstance(error, DownloadCancelledError) and "max size" in str(error):
        return Skipped(request.url, "too-large", str(error))
    if isinstance(error, DownloadTimeoutError):
        return Skipped(request.url, "timeout", str(error))
    if isinstance(
        error, (CannotResolveHostError, DownloadConnectionRefusedError, DownloadFailedError, ResponseDataLossError)
    ):
        return Skipped(request.url, "network-error", f"{type(error).__name__}: {error}")
    return Skipped(request.url, "download-error", f"{type(error).__name__}: {error}")


def read_url_list(path: str) -> list[str]:
    """Lines of a file (``-`` for standard input), without comments and blank lines."""
    if path == "-":
        lines = sys.stdin.read().splitlines()
    else:
        try:
            lines = Path(path).expanduser().read_text(encoding="utf-8-sig").splitlines()
        except FileNotFoundError:
            raise SpiderArgumentError(f"no such file: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SpiderArgumentError(f"cannot read {path}: {exc}") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def is_web_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def parse_xml(body: bytes) -> etree._Element | None:
    try:
        return etree.fromstring(body, parser=XML_PARSER)
    except etree.XMLSyntaxError:
        return None


def iso_date(text: str | None) -> str | None:
    """A W3C (sitemap, Atom) or RFC 822 (RSS) date as UTC ISO 8601, or None."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Entry:
    """A link found in a sitemap or a feed, with the date it gives, if any."""

    url: str
    date: str | None = None


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child_text(element: etree._Element, *names: str) -> str | None:
    """Text of the first descendant with one of these local names (namespace ignored)."""
    for node in element.iter():
        if _local(node.tag) in names and node.text and node.text.strip():
            return node.text.strip()
    return None


def sitemap_entries(root: etree._Element) -> tuple[str, list[Entry]]:
    """``("sitemapindex" | "urlset" | "", entries)``; news sitemaps give their
    publication date when there is no ``lastmod``."""
    kind = _local(root.tag)
    child = {"sitemapindex": "sitemap", "urlset": "url"}.get(kind)
    if child is None:
        return "", []
    entries = []
    for element in root:
        if _local(element.tag) != child:
            continue
        loc = _child_text(element, "loc")
        if loc:
            entries.append(Entry(loc, iso_date(_child_text(element, "lastmod", "publication_date"))))
    return kind, entries


def feed_entries(root: etree._Element, base_url: str) -> list[Entry] | None:
    """Item links of an RSS 2.0, Atom or RDF (RSS 1.0) feed; None if it is none of them."""
    kind = _local(root.tag)
    if kind == "rss":
        items = [e for e in root.iter() if _local(e.tag) == "item"]
    elif kind == "RDF":
        items = [e for e in root if _local(e.tag) == "item"]
    elif kind == "feed":
        items = [e for e in root if _local(e.tag) == "entry"]
    else:
        return None
    entries = []
    for item in items:
        link = None
        if kind == "feed":
            for node in item:
                if _local(node.tag) == "link" and node.get("rel", "alternate") == "alternate" and node.get("href"):
                    link = node.get("href")
                    break
        else:
            link = next((n.text.strip() for n in item if _local(n.tag) == "link" and n.text and n.text.strip()), None)
            if link is None:
                guid = next((n for n in item if _local(n.tag) == "guid"), None)
                if guid is not None and guid.get("isPermaLink", "true") == "true" and guid.text:
                    link = guid.text.strip()
        if link:
            date = _child_text(item, "pubDate", "updated", "published", "date", "modified")
            entries.append(Entry(urljoin(base_url, link), iso_date(date)))
    return entries


class WebSpider(SieveSpider):
    """Base of the spiders that fetch over HTTP: pages become items, failures
    become Skipped items, with the same reasons for every spider."""

    #: Whether pages must read as articles to be stored (see the extraction stage).
    require_article = False

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        # Stop downloads at Sieve's size limit, unless told otherwise.
        settings.set("DOWNLOAD_MAXSIZE", settings.getint("SIEVE_MAX_BYTES"), priority="spider")

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        if not crawler.settings.get("SIEVE_CONTACT"):
            logger.warning(
                "SIEVE_CONTACT is not set: the sites you crawl cannot tell who you are. "
                "Set it to a URL or e-mail address (-s SIEVE_CONTACT=...)."
            )
        return spider

    def parse_page(self, response: Response) -> Iterator[Page | Skipped]:
        yield page_from_response(response, require_article=self.require_article)

    def page_request(self, url: str, **kwargs: Any) -> Request:
        return Request(url, callback=self.parse_page, errback=self.skip, meta={PAGE: True}, **kwargs)

    def listed_unchanged(self, entry: Entry) -> bool:
        """Whether a sitemap or feed entry is dated no later than the last
        download of its URL."""
        if not entry.date:
            return False
        previous = previous_fetch(self.crawler, entry.url)
        return previous is not None and entry.date <= previous.fetched_at

    def skip(self, failure: Failure) -> Iterator[Skipped]:
        yield skipped_from_failure(failure)

    def checked_requests(self, urls: Iterable[str | Entry]) -> Iterator[Request | Skipped | Unchanged]:
        """Page requests for ``urls`` (or sitemap and feed entries); anything
        that is not an http(s) URL is skipped, entries not changed since
        their last download are unchanged."""
        for url_or_entry in urls:
            entry = url_or_entry if isinstance(url_or_entry, Entry) else Entry(url_or_entry)
            if not is_web_url(entry.url):
                yield Skipped(entry.url, "bad-url", "not an http or https URL")
            elif self.listed_unchanged(entry):
                yield Unchanged(entry.url, "listed-unchanged")
            else:
                yield self.page_request(entry.url)


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def since_argument(value: str | None) -> str | None:
    if value is None:
        return None
    if not _DATE.match(value):
        raise SpiderArgumentError(f"since must be a date as YYYY-MM-DD, not {value!r}")
    return value
