"""What any spider yields, as Sieve's stages read it: a spider middleware.

Sieve's own spiders yield :class:`~crawler.items.Page` items. A spider of
your own may instead yield a :class:`FetchedPage` (the response, and what
the spider knows about it), the response itself, or an item (a dict, a
Scrapy ``Item``, a dataclass) with:

``url``
    the page's http(s) URL, under which the article is stored;
``html`` or ``text``
    the page as HTML, or as plain text (a string);
``title``, ``published``, ``author`` (optional)
    what the spider knows better than the page: they replace what
    extraction finds. ``published`` is ISO 8601 (``2024-03-01`` or
    ``2024-03-01T09:30:00+01:00``); ``author`` a name or a list of names.

An item Sieve cannot use becomes a ``skipped`` row (``unusable-item``)
saying what is missing, with a warning; fields it does not know are
counted (``sieve/items/ignored_fields``) and named in a warning, once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from itemadapter import ItemAdapter, is_item
from scrapy import Request
from scrapy.http import Response

from crawler.incremental import Incremental
from crawler.items import Article, KnownMetadata, Page, Skipped, Unchanged
from crawler.pages import page_from_response
from crawler.web_urls import host_of, is_web_url, key_url

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

SIEVE_ITEMS = (Page, Skipped, Unchanged, Article)
PAGE_FIELDS = ("html", "text")
KNOWN_FIELDS = ("title", "published", "author")
FIELDS = frozenset(("url", *PAGE_FIELDS, *KNOWN_FIELDS))


@dataclass
class FetchedPage:
    """A page a spider fetched, with what it knows better than the page
    (see the module): read as Sieve's own spiders read theirs (a type that
    is not HTML or text is skipped, an unchanged page is known unchanged)."""

    response: Response
    title: str | None = None
    published: str | None = None
    author: str | list[str] | None = None


@dataclass
class UnusableItem(Exception):
    """What is wrong with an item, in words."""

    detail: str


def page_from_item(item: Any) -> Page:
    """The page an item holds; :class:`UnusableItem` says what is missing."""
    fields = ItemAdapter(item)
    url = fields.get("url")
    if not isinstance(url, str) or not is_web_url(url):
        raise UnusableItem(f"its url is {url!r}, not an http(s) URL" if "url" in fields else "it has no url")
    given = [name for name in PAGE_FIELDS if fields.get(name) is not None]
    if len(given) != 1:
        raise UnusableItem(
            "it has both html and text: give one" if given else f"it has neither html nor text (its fields: {', '.join(fields) or 'none'})"
        )
    kind = given[0]
    body = fields[kind]
    if not isinstance(body, str):
        raise UnusableItem(f"its {kind} is a {type(body).__name__}, not a string")
    return Page(
        url=url,
        body=body.encode("utf-8"),
        kind=kind,
        content_type=f"text/{'html' if kind == 'html' else 'plain'}; charset=utf-8",
        source=host_of(url),
        known=known_metadata(fields),
    )


def known_metadata(fields: ItemAdapter) -> KnownMetadata | None:
    title, published, author = (fields.get(name) for name in KNOWN_FIELDS)
    if title is not None and not isinstance(title, str):
        raise UnusableItem(f"its title is a {type(title).__name__}, not a string")
    if published is not None and not is_iso_time(published):
        raise UnusableItem(f"its published is {published!r}, not an ISO 8601 date or time")
    if isinstance(author, str):
        authors = [author]
    elif author is None or (isinstance(author, (list, tuple)) and all(isinstance(a, str) for a in author)):
        authors = list(author or ())
    else:
        raise UnusableItem(f"its author is {author!r}, not a name or a list of names")
    authors = [a.strip() for a in authors if a.strip()]
    if not (title or published or authors):
        return None
    return KnownMetadata(title=(title or "").strip() or None, published=published, authors=authors)


def is_iso_time(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    for parse in (date.fromisoformat, datetime.fromisoformat):
        try:
            parse(value.strip())
            return True
        except ValueError:
            continue
    return False


class PageItemMiddleware:
    """Turns responses and items a spider yields (see the module) into pages."""

    def __init__(self, crawler: Crawler):
        self.crawler = crawler
        self.warned: set[str] = set()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    async def process_start(self, start: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for output in start:
            yield self.convert(output, None)

    def process_spider_output(self, response: Response, result: Iterable[Any]) -> Iterator[Any]:
        for output in result:
            yield self.convert(output, response)

    async def process_spider_output_async(self, response: Response, result: AsyncIterator[Any]) -> AsyncIterator[Any]:
        async for output in result:
            yield self.convert(output, response)

    def convert(self, output: Any, response: Response | None) -> Any:
        if isinstance(output, (Request, *SIEVE_ITEMS)):
            return output
        if isinstance(output, Response):
            return self.page_of(output)
        if isinstance(output, FetchedPage):
            return self.page_of(output.response, output)
        if not is_item(output):
            return output  # Scrapy says what is wrong with it
        try:
            page = page_from_item(output)
        except UnusableItem as exc:
            return self.unusable(output, response, exc.detail)
        ignored = sorted(set(ItemAdapter(output)) - FIELDS)
        if ignored:
            self.crawler.stats.inc_value("sieve/items/ignored_fields")
            self.warn_once(
                ", ".join(ignored),
                "Items of the %s spider have fields Sieve does not use, left out: %s (it reads: %s)",
                self.crawler.spider.name,
                ", ".join(ignored),
                ", ".join(sorted(FIELDS)),
            )
        return page

    def page_of(self, response: Response, fetched: FetchedPage | None = None) -> Page | Skipped | Unchanged:
        url = key_url(response.url, self.crawler.settings.getlist("SIEVE_TRACKING_PARAMETERS"))
        require_article = getattr(self.crawler.spider, "require_article", False)
        page = page_from_response(response, Incremental.of(self.crawler), url, require_article=require_article)
        if fetched is not None and isinstance(page, Page):
            try:
                page.known = known_metadata(ItemAdapter(fetched))
            except UnusableItem as exc:
                return self.unusable(fetched, response, exc.detail)
        return page

    def unusable(self, item: Any, response: Response | None, detail: str) -> Skipped:
        url = response.url if isinstance(item, FetchedPage) else ItemAdapter(item).get("url")
        if not isinstance(url, str) or not url:
            url = response.url if response is not None else ""
        where = f" (yielded while parsing {response.url})" if response is not None and response.url != url else ""
        sentence = f"an item Sieve cannot use: {detail}; it needs url, and html or text{where}"
        self.warn_once(detail, "The %s spider yielded %s (warned once for this problem)", self.crawler.spider.name, sentence)
        return Skipped(url, "unusable-item", sentence)

    def warn_once(self, key: str, message: str, *args: Any) -> None:
        if key not in self.warned:
            self.warned.add(key)
            logger.warning(message, *args)
