"""What runs in a worker process of :mod:`pipelines.workers`: the document
stages applied to each page received, with what they count.

This module does not import Scrapy: the workers' fork server imports it, and
Scrapy would add a quarter of a second to every crawl's start-up for nothing
a worker uses.
"""

from __future__ import annotations

import signal
import sys
import time
import traceback
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

    from pipelines.stage import DocumentStage


class StatsDelta:
    """What a stage counts in a worker, to be added to the crawl's stats."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def inc_value(self, key: str, count: int = 1, start: int = 0) -> None:
        self.counts[key] += count

    def take(self) -> dict[str, int]:
        counts, self.counts = dict(self.counts), Counter()
        return counts


@dataclass
class Processed:
    """The stages gave ``item``, for the stages in the crawl's process."""

    item: Any
    #: What the stages counted in a worker, for the crawl's stats.
    stats: dict[str, int] = field(default_factory=dict)


@dataclass
class Dropped:
    """A stage dropped the document (Scrapy's ``DropItem``), saying why."""

    reason: str
    stats: dict[str, int] = field(default_factory=dict)


@dataclass
class StageFailed:
    """A stage raised: the document is recorded as ``skipped`` (a
    ``stage-error``), and the run fails; the traceback, bounded, is for the log."""

    skipped: Any
    traceback: str
    stats: dict[str, int] = field(default_factory=dict)


@dataclass
class PoolBroken:
    """The worker pool cannot go on, and the document was not processed."""

    reason: str
    stats: dict[str, int] = field(default_factory=dict)


#: What the document stages made of one document.
Outcome = Processed | Dropped | StageFailed | PoolBroken


def worker_main(conn: Connection, stages: list[DocumentStage]) -> None:
    """A worker: turn pages into outcomes with the document stages (as
    built in the crawl's process) until told to stop (None) or the crawl's
    process goes away (end of file)."""
    # Ctrl-C reaches the whole process group; the crawl decides when to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stats = StatsDelta()
    for stage in stages:
        stage.stats = stats
        stage.start()
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        outcome = apply_stages(stages, item, stats)
        outcome.stats = stats.take()
        try:
            conn.send(outcome)
        except OSError:
            return  # the crawl's process is gone


def apply_stages(stages: list[DocumentStage], item: Any, stats: Any) -> Outcome:
    """The stages applied to ``item``, counting into ``stats``."""
    document = item
    try:
        for stage in stages:
            item = timed_call(stage_cpu_key(stage), stage.process_item, item, stats)
        return Processed(item)
    except Exception as exc:
        if is_drop_item(exc):
            return Dropped(str(exc))
        from crawler.items import Skipped  # the pages the workers get import it anyway

        summary = bounded(f"{type(exc).__name__}: {exc}", MAX_DETAIL)
        skipped = Skipped(document.url, "stage-error", summary, getattr(document, "fetch", None))
        return StageFailed(skipped, "\n".join(bounded(line, MAX_DETAIL) for line in traceback.format_exc().splitlines()))


#: The most characters of an error kept in a skipped row's detail, and of
#: each line of a traceback logged: an exception may carry a whole document.
MAX_DETAIL = 500


def bounded(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more characters)"


def stage_cpu_key(stage: Any) -> str:
    return f"sieve/cpu_us/{type(stage).__name__}"


def timed_call(key: str, process_item: Any, item: Any, stats: Any) -> Any:
    """``process_item(item)``, its CPU time added to ``key`` in microseconds.
    This thread's time only: what Scrapy's other threads do is not counted."""
    started = time.thread_time_ns()
    try:
        return process_item(item)
    finally:
        stats.inc_value(key, (time.thread_time_ns() - started) // 1000)


def is_drop_item(exc: Exception) -> bool:
    """Whether a stage dropped the item: only a stage that imported Scrapy
    can raise its DropItem."""
    exceptions = sys.modules.get("scrapy.exceptions")
    return exceptions is not None and isinstance(exc, exceptions.DropItem)
