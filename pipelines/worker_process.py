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


def worker_main(conn: Connection, stages: list[DocumentStage]) -> None:
    """A worker: turn pages into items with the document stages (as built
    in the crawl's process) until told to stop (None) or the crawl's
    process goes away (end of file)."""
    # Ctrl-C reaches the whole process group; the crawl decides when to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stats = StatsDelta()
    for stage in stages:
        stage.stats = stats
    while True:
        try:
            item = conn.recv()
        except (EOFError, OSError):
            return
        if item is None:
            return
        try:
            for stage in stages:
                item = timed_call(stage_cpu_key(stage), stage.process_item, item, stats)
            outcome = ("item", item, stats.take())
        except Exception as exc:
            if is_drop_item(exc):
                outcome = ("drop", str(exc), stats.take())
            else:
                outcome = ("error", traceback.format_exc(), stats.take())
        try:
            conn.send(outcome)
        except OSError:
            return  # the crawl's process is gone


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
