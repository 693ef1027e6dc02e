"""What the document stages (extract, clean, repeats) have in common."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from typing_extensions import Self


class Stats(Protocol):
    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None: ...


class DocumentStage:
    """A stage that looks at one document at a time and needs only its
    settings and somewhere to count: no crawler, no database. Such stages,
    when they lead ``ITEM_PIPELINES``, run in worker processes
    (:mod:`pipelines.workers`): they are built once, in the crawl's process,
    where their settings are read and checked, and a pickled copy goes to
    each worker, which gives it a stats object of its own."""

    in_workers = True
    #: Modules the workers' fork server imports besides the stage's own
    #: (before it, in this order): what they load is then shared by every
    #: worker.
    preload: tuple[str, ...] = ()
    stats: Stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls.build(crawler.settings, crawler.stats)

    @classmethod
    def build(cls, settings: BaseSettings, stats: Stats) -> Self:
        raise NotImplementedError

    def start(self) -> None:
        """Called once in the process that runs the stage (a worker, or the
        crawl's process without workers) before its first document: what
        the stage installs or loads for the whole process."""

    def __getstate__(self) -> dict[str, Any]:
        # The crawl's stats stay in the crawl's process.
        return {k: v for k, v in self.__dict__.items() if k != "stats"}

    def process_item(self, item: Any) -> Any:
        raise NotImplementedError
