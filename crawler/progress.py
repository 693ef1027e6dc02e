"""The ``Progress`` extension: a log line every ``SIEVE_PROGRESS_INTERVAL``
seconds while a crawl runs (documents done, stored, unchanged, skipped,
documents per second; with a known total, as for ``files``, also the total
and the time left), and the memory of the whole process tree, worker
processes included, which Scrapy's ``memusage/max`` leaves out: the largest
peak of any one process (``sieve/memory/process_max_mb``), the sum of the
peaks of the processes alive together (``sieve/memory/tree_max_mb``, which
the tree never exceeded), and the most processes it held at once
(``sieve/memory/tree_processes_max``).

Peaks are each process's own high-water mark, kept by the kernel, so a
peak between two samples is not missed; they are read at every interval,
when a component sends :data:`processes_ending` (the worker pool, before
it ends its workers) and when the spider closes."""

from __future__ import annotations

import asyncio
import logging
import os
import resource
import time
from typing import TYPE_CHECKING, Any

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.runs import sum_counters

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from typing_extensions import Self

logger = logging.getLogger(__name__)

#: Sent by a component about to end child processes, so that their peaks
#: are read while they are still there.
processes_ending = object()


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (Linux /proc; none found elsewhere
    but ``pid``). The benchmarks measure with it too."""
    found, stack = [], [pid]
    while stack:
        current = stack.pop()
        found.append(current)
        try:
            for task in os.listdir(f"/proc/{current}/task"):
                with open(f"/proc/{current}/task/{task}/children") as children:
                    stack.extend(int(child) for child in children.read().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def tree_rss_bytes(pid: int) -> int:
    """Resident bytes of a process and all its descendants (0 where there
    is no /proc)."""
    return rss_bytes(process_tree(pid))


def rss_bytes(pids: list[int]) -> int:
    """Resident bytes of these processes together (those gone count 0)."""
    total = 0
    for member in pids:
        try:
            with open(f"/proc/{member}/statm") as statm:
                total += int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def peak_rss_bytes(pid: int) -> int:
    """The most resident bytes the process ``pid`` has held (``VmHWM``); 0
    for a process gone. Without /proc, this process's own from getrusage."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 if pid == os.getpid() else 0


class Progress:
    def __init__(self, crawler: Crawler, interval: float):
        self.crawler = crawler
        self.stats = crawler.stats
        self.interval = interval
        self.done = 0
        self.started = time.monotonic()
        self.task: asyncio.Task[None] | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        interval = crawler.settings.getfloat("SIEVE_PROGRESS_INTERVAL")
        if interval <= 0:
            raise NotConfigured("SIEVE_PROGRESS_INTERVAL is 0")
        progress = cls(crawler, interval)
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(progress.document_done, signal=signal)
        crawler.signals.connect(progress.spider_opened, signal=signals.spider_opened)
        crawler.signals.connect(progress.spider_closed, signal=signals.spider_closed)
        crawler.signals.connect(progress.sample_memory, signal=processes_ending)
        return progress

    def document_done(self, *args: Any, **kwargs: Any) -> None:
        self.done += 1

    def spider_opened(self) -> None:
        self.started = time.monotonic()
        self.task = asyncio.get_running_loop().create_task(self._report_every_interval())

    async def _report_every_interval(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            self.report()

    def report(self) -> None:
        self.sample_memory()
        stats = self.stats.get_stats()
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        total = getattr(self.crawler.spider, "expected_documents", None)
        of_total = ""
        if total:
            left = max(total - self.done, 0)
            eta = f"{left / rate:.0f} s left" if rate else "time left unknown"
            of_total = f" of {total} ({self.done / total:.0%}, {eta})"
        logger.info(
            "Progress: %d documents done%s; committed: %d stored, %d unchanged, %d skipped; %.1f documents/s",
            self.done,
            of_total,
            stats.get("sieve/articles_stored", 0),
            sum_counters(stats, "sieve/unchanged/"),
            sum_counters(stats, "sieve/skipped/"),
            rate,
        )

    def sample_memory(self) -> None:
        members = process_tree(os.getpid())
        peaks = [peak_rss_bytes(member) for member in members]
        self.stats.max_value("sieve/memory/process_max_mb", round(max(peaks) / 2**20))
        # Each peak is at least the process's resident size now (VmHWM >= VmRSS).
        self.stats.max_value("sieve/memory/tree_max_mb", round(sum(peaks) / 2**20))
        self.stats.max_value("sieve/memory/tree_processes_max", len(members))

    def spider_closed(self) -> None:
        if self.task is not None:
            self.task.cancel()
        self.sample_memory()

