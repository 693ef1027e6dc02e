"""The ``reclean`` spider: the stored articles again, through cleaning,
repeats and cross-document dedup, from what extraction gave them."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from scrapy.settings import SETTINGS_PRIORITIES, BaseSettings

from crawler.database import Database
from crawler.errors import SpiderArgumentError
from crawler.items import Article, Paragraph
from crawler.spiders import ItemsInFlight, SieveSpider

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    import sqlite_utils
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

#: Articles read from the database at a time, and let into the stages ahead.
BATCH = 200
IN_FLIGHT = 32
COLUMNS = (
    "id", "url", "kind", "source", "canonical_url", "title", "author", "authors", "published", "published_local",
    "language", "sitename", "description", "image", "section", "tags",
)  # fmt: skip


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
        where, params = ("WHERE source = ?", [self.source]) if self.source else ("", [])
        ids = [row[0] for row in db.execute(f"SELECT id FROM articles {where} ORDER BY id", params)]
        self.expected_documents = len(ids)
        logger.info("Cleaning %d stored articles again", len(ids))
        for start in range(0, len(ids), BATCH):
            for article in stored_articles(db, ids[start : start + BATCH]):
                await self.in_flight.wait_until(IN_FLIGHT - 1)
                self.in_flight.add()
                yield article


def stored_articles(db: sqlite_utils.Database, ids: list[int]) -> list[Article]:
    """The articles ``ids`` as extraction gave them: every paragraph, kept
    or removed, in its place."""
    marks = ", ".join("?" * len(ids))
    paragraphs: dict[int, dict[int, str]] = {article_id: {} for article_id in ids}
    link_texts: dict[int, set[str]] = {article_id: set() for article_id in ids}
    for article_id, position, text in db.execute(
        f"SELECT article_id, position, text FROM paragraphs WHERE article_id IN ({marks})", ids
    ):
        paragraphs[article_id][position] = text
    for article_id, position, text, reason in db.execute(
        f"SELECT article_id, position, text, reason FROM removed WHERE article_id IN ({marks})", ids
    ):
        paragraphs[article_id].setdefault(position, text)
        if reason == "link":
            link_texts[article_id].add(text.casefold())
    articles = []
    for row in db.execute(f"SELECT {', '.join(COLUMNS)} FROM articles WHERE id IN ({marks}) ORDER BY id", ids):
        values = dict(zip(COLUMNS, row))
        article_id = values.pop("id")
        by_position = paragraphs[article_id]
        kind = values.pop("kind") or "html"
        if kind == "text" and values["title"]:
            # The cleaning stage takes a plain text's title out of its
            # paragraphs without recording it: the place left is the title's.
            gap = next((n for n in range(len(by_position) + 1) if n not in by_position), None)
            if gap is not None and gap <= max(by_position, default=-1):
                by_position[gap] = values["title"]
                values["title"] = None
        values["authors"] = json.loads(values["authors"] or "[]")
        values["tags"] = json.loads(values["tags"] or "[]")
        articles.append(
            Article(
                **values,
                kind=kind,
                paragraphs=[Paragraph(position, by_position[position]) for position in sorted(by_position)],
                link_texts=frozenset(link_texts[article_id]),
            )
        )
    return articles
