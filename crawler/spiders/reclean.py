"""The ``reclean`` spider: the stored articles again, through cleaning,
repeats and cross-document dedup, from what extraction gave them."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from crawler.errors import SpiderArgumentError
from crawler.spiders import ItemsInFlight, SieveSpider
from crawler.storage import reads
from crawler.storage.database import Database

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

#: Articles read from the database at a time, and let into the stages ahead.
BATCH = 200
IN_FLIGHT = 32


class RecleanSpider(SieveSpider):
    """Apply the cleaning rules, the repeat stage and cross-document dedup
    again to the articles stored in ``SIEVE_DB``, from what extraction gave
    them: their kept paragraphs and the ones removed, in their places.
    Nothing is downloaded or extracted again. Use it after a change of
    ``SIEVE_BOILERPLATE_PATTERNS``, of a repeat or dedup setting, or of
    Sieve's rules.

    An article whose text comes out the same is left as it is
    (``same-text``); one that changes is rewritten, with its removals
    recorded anew and the next ``change_seq``. What the cleaning rules
    judged by the page's links (``link``) is judged again by the texts
    removed so before, as the links themselves are not stored.

    Arguments (``-a name=value``):

    ``source``
        Only the articles of this source (``articles.source``).
    """

    name = "reclean"
    cluster_crawler = False

    def __init__(self, source: str = "", **kwargs: Any):
        super().__init__(source=source, **kwargs)
        self.source = source

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        # The document stages take these articles in this process (worker
        # processes take pages to extract); the article keeps its row.
        above_command_line = SETTINGS_PRIORITIES["cmdline"] + 1
        settings.set("SIEVE_WORKERS", 0, priority=above_command_line)
        pipelines = {**settings.getdict("ITEM_PIPELINES"), "pipelines.identity.ArticleIdentityPipeline": None}
        settings.set("ITEM_PIPELINES", pipelines, priority=above_command_line)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        if not crawler.settings.get("SIEVE_DB"):
            raise SpiderArgumentError("reclean works on a database: SIEVE_DB is empty")
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.in_flight = ItemsInFlight(crawler)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        database = self.crawler.get_extension(Database)
        db = database.open()
        ids = reads.article_ids(db, self.source)
        self.expected_documents = len(ids)
        logger.info("Cleaning %d stored articles again", len(ids))
        for start in range(0, len(ids), BATCH):
            for article in reads.articles_as_extracted(db, ids[start : start + BATCH]):
                await self.in_flight.wait_until(IN_FLIGHT - 1)
                self.in_flight.add()
                yield article

