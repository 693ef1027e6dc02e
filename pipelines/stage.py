"""What the document stages (extract, clean, repeats) have in common."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from typing_extensions import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings


class Stats(Protocol):
    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None: ...


class DocumentStage:
    """A stage that looks at one document at a time and needs only settings
    and somewhere to count: no crawler, no database. Such stages, when they
    lead ``ITEM_PIPELINES``, run in worker processes (:mod:`pipelines.workers`),
    where they are built with :meth:`build`."""

    in_workers = True

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls.build(crawler.settings, crawler.stats)

    @classmethod
    def build(cls, settings: BaseSettings, stats: Stats) -> Self:
        raise NotImplementedError

    def process_item(self, item: Any) -> Any:
        raise NotImplementedError
