"""The item processor (``ITEM_PROCESSOR``): ``ITEM_PIPELINES`` as Scrapy runs
them, except that the leading document stages (extraction, cleaning,
repeats: the stages marked ``in_workers``) run in a pool of
``SIEVE_WORKERS`` worker processes, while Scrapy keeps downloading.

The stages after them (cross-document dedup, storage) run in the crawl's
own process, one item at a time, in the order items reached the processor,
whichever worker finishes first: the database sees the same sequence as
without workers.

A worker that crashes, or takes longer than ``SIEVE_EXTRACT_TIMEOUT`` on a
page, is replaced; that page is recorded as skipped (``worker-crashed``,
``extraction-timeout``) and the others go on. A stage that raises on a page,
in a worker or here, has the page recorded as skipped (``stage-error``) and
fails the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sqlite3
import sys
import threading
import types
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scrapy.exceptions import DropItem, NotConfigured
from scrapy.pipelines import ItemPipelineManager
from scrapy.utils.conf import build_component_list
from scrapy.utils.misc import build_from_crawler, load_object

from crawler.items import Page, Skipped
from crawler.progress import processes_ending
from crawler.storage.connection import DatabaseError
from crawler.storage.database import Database
from pipelines.worker_process import apply_stages, stage_cpu_key, timed_call, worker_main

if TYPE_CHECKING:
    from collections.abc import Iterator
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from typing_extensions import Self

    from pipelines.stage import DocumentStage

logger = logging.getLogger(__name__)


def timed(stage: Any, stats: Any) -> Any:
    """The stage, its ``process_item`` counted as :func:`timed_call` does
    (not an asynchronous one, whose time is mostly waiting)."""
    if inspect.iscoroutinefunction(stage.process_item):
        return stage
    return TimedStage(stage, stats)


class TimedStage:
    """A stage as Scrapy's item pipeline manager sees it, with the CPU time
    of each ``process_item`` counted; everything else is the stage's own."""

    def __init__(self, stage: Any, stats: Any):
        self.stage = stage
        self.stats = stats
        self.key = stage_cpu_key(stage)

    def process_item(self, item: Any) -> Any:
        return timed_call(self.key, self.stage.process_item, item, self.stats)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stage, name)


@dataclass
class _Task:
    page: Page
    future: asyncio.Future[tuple[str, Any, dict[str, int]]]
    queued: float = 0.0


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    task: _Task | None = None
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)
    started: float = 0.0
    finished_any: bool = False


MAX_STILLBORN = 3


class WorkerPool:
    """Processes that each run the document stages on one page at a time,
    started from the fork server (:func:`start_fork_server`)."""

    def __init__(self, size: int, stages: list[DocumentStage], timeout: float):
        self.size = size
        self.stages = stages
        self.timeout = timeout
        self.context = multiprocessing.get_context("forkserver")
        self.workers: list[_Worker] = []
        self.queue: deque[_Task] = deque()
        self.loop: asyncio.AbstractEventLoop | None = None
        #: Seconds the workers spent on pages, and pages spent waiting for a worker.
        self.busy = 0.0
        self.waited = 0.0
        #: Workers in a row that died before finishing any page: at
        #: MAX_STILLBORN the stages cannot work here (broken install, no
        #: memory), and replacing workers would only go round in circles.
        self.stillborn = 0
        self.broken: str | None = None
        #: Workers being started (see start()).
        self.starting: set[asyncio.Future[tuple[BaseProcess, Connection]]] = set()

    def start(self) -> None:
        """Start the workers without waiting for them: a start waits until
        the fork server has imported the stages (about a second, at first),
        and the crawl goes on meanwhile, pages waiting in the queue."""
        self.loop = asyncio.get_running_loop()
        for _ in range(self.size):
            self._start_in_background()

    def _start_in_background(self) -> None:
        assert self.loop is not None
        starting = self.loop.run_in_executor(None, self._start_process)
        self.starting.add(starting)
        starting.add_done_callback(self._started)

    def _started(self, starting: asyncio.Future[tuple[BaseProcess, Connection]]) -> None:
        self.starting.discard(starting)
        if starting.cancelled():
            return
        error = starting.exception()
        if error is None:
            self.workers.append(self._register(*starting.result()))
            self._dispatch()
        elif self._stillborn(f"a worker process could not be started ({type(error).__name__}: {error})"):
            self._start_in_background()

    async def wait_started(self) -> None:
        """Return once no worker is being started."""
        while self.starting:
            await asyncio.gather(*self.starting, return_exceptions=True)

    def _start_process(self) -> tuple[BaseProcess, Connection]:
        ours, theirs = self.context.Pipe()
        process = self.context.Process(
            target=worker_main, args=(theirs, self.stages), name="sieve-worker", daemon=True
        )
        try:
            with _main_module_left_behind():
                process.start()
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        return process, ours

    def _register(self, process: BaseProcess, conn: Connection) -> _Worker:
        assert self.loop is not None
        worker = _Worker(process, conn)
        self.loop.add_reader(conn.fileno(), self._on_readable, worker)
        return worker

    async def process(self, page: Page) -> tuple[str, Any, dict[str, int]]:
        """``(kind, value, stats)``: kind ``item`` (value: the item), ``drop``
        or ``error`` (value: the message)."""
        assert self.loop is not None
        if self.broken:
            return ("error", self.broken, {})
        task = _Task(page, self.loop.create_future(), self.loop.time())
        self.queue.append(task)
        self._dispatch()
        return await task.future

    def _dispatch(self) -> None:
        for worker in self.workers:
            if not self.queue:
                return
            if worker.task is None:
                task = self.queue.popleft()
                worker.task = task
                worker.started = self.loop.time()
                self.waited += worker.started - task.queued
                worker.timer = self.loop.call_later(self.timeout, self._timed_out, worker)
                try:
                    worker.conn.send(task.page)
                except OSError:
                    self._replace(worker, "worker-crashed", "the worker process stopped before it got the page")

    def _finish(self, worker: _Worker, outcome: tuple[str, Any, dict[str, int]]) -> None:
        task, worker.task = worker.task, None
        self.busy += self.loop.time() - worker.started
        if worker.timer is not None:
            worker.timer.cancel()
            worker.timer = None
        if task is not None and not task.future.done():
            task.future.set_result(outcome)

    def _on_readable(self, worker: _Worker) -> None:
        try:
            outcome = worker.conn.recv()
        except (EOFError, OSError):
            worker.process.join(timeout=5)
            self._replace(worker, "worker-crashed", f"the worker process died (exit code {worker.process.exitcode})")
            return
        worker.finished_any = True
        self.stillborn = 0
        self._finish(worker, outcome)
        self._dispatch()

    def _timed_out(self, worker: _Worker) -> None:
        worker.timer = None
        worker.process.kill()
        worker.process.join(timeout=5)
        self._replace(worker, "extraction-timeout", f"no result after SIEVE_EXTRACT_TIMEOUT ({self.timeout:g} s)")

    def _replace(self, worker: _Worker, reason: str, detail: str) -> None:
        """The worker is gone: its page is skipped, a new worker takes its place."""
        assert self.loop is not None
        self.loop.remove_reader(worker.conn.fileno())
        worker.conn.close()
        self.workers.remove(worker)
        going_on = worker.finished_any or self._stillborn(detail)
        if worker.task is not None:
            if going_on:
                logger.warning("%s: %s", worker.task.page.url, detail)
                self._finish(worker, ("item", Skipped(worker.task.page.url, reason, detail, worker.task.page.fetch), {}))
            else:
                self._finish(worker, ("error", self.broken, {}))
        if going_on:
            self._start_in_background()

    def _stillborn(self, detail: str) -> bool:
        """One more worker died before finishing any page; whether the pool
        goes on (else it is broken, and the pages waiting fail)."""
        self.stillborn += 1
        if self.stillborn < MAX_STILLBORN:
            return True
        self.broken = f"{MAX_STILLBORN} worker processes in a row died before finishing a page ({detail})"
        logger.error("Stopping the worker pool: %s", self.broken)
        for task in self.queue:
            if not task.future.done():
                task.future.set_result(("error", self.broken, {}))
        self.queue.clear()
        return False

    def close(self) -> None:
        for worker in self.workers:
            if self.loop is not None:
                self.loop.remove_reader(worker.conn.fileno())
            try:
                worker.conn.send(None)
            except OSError:
                pass
        for worker in self.workers:
            worker.process.join(timeout=10)
            if worker.process.is_alive():
                worker.process.kill()
            worker.conn.close()
        self.workers = []


class Sequencer:
    """Tickets in arrival order; ``turn(n)`` waits until tickets before n are done."""

    def __init__(self) -> None:
        self.issued = 0
        self.served = 0
        self.finished: set[int] = set()
        self.waiting: dict[int, asyncio.Future[None]] = {}

    def ticket(self) -> int:
        self.issued += 1
        return self.issued - 1

    async def turn(self, ticket: int) -> None:
        if ticket != self.served:
            self.waiting[ticket] = asyncio.get_running_loop().create_future()
            await self.waiting[ticket]

    def done(self, ticket: int) -> None:
        # A ticket given up early (an error before its turn) must not hold the others.
        self.finished.add(ticket)
        while self.served in self.finished:
            self.finished.remove(self.served)
            self.served += 1
        if (waiter := self.waiting.pop(self.served, None)) is not None and not waiter.done():
            waiter.set_result(None)


_main_module_swap = threading.Lock()


@contextlib.contextmanager
def _main_module_left_behind() -> Iterator[None]:
    """While a worker is started (in a thread: see WorkerPool.start).
    multiprocessing has a new process import its parent's main module, for
    what is defined there; for ``scrapy crawl`` that is Scrapy's console
    script, which imports all of Scrapy: 0.4 s of CPU a worker, for nothing
    a worker uses (its stages come from modules of their own)."""
    with _main_module_swap:
        main = sys.modules["__main__"]
        sys.modules["__main__"] = types.ModuleType("__main__")
        try:
            yield
        finally:
            sys.modules["__main__"] = main


def start_fork_server(settings: BaseSettings) -> None:
    """Start the fork server that the workers of a crawl with workers come
    from: not forked from the crawl's process, which holds an event loop,
    threads and a database connection that a fork would copy, but a fresh
    process that imports what the document stages need (trafilatura, the
    language model...) once; each worker then starts in milliseconds and
    shares those pages of memory until it writes to them.

    ``scrapy crawl`` has it called once it has read its command line
    (:meth:`ParallelItemProcessor.start_early`; it does nothing if the crawl
    has no workers), so that those imports (half a second) run on another
    CPU while Scrapy builds the crawl; the item processor calls it again,
    which then does nothing.

    It starts with Ctrl-C ignored (an ignored signal stays so in the new
    program): Ctrl-C reaches the whole process group, and Python's fork
    server ignores it only once it has imported the stages, so an early
    Ctrl-C killed it half-way and buried the crawl's stop under tracebacks.
    The crawl's process decides when the workers stop."""
    try:
        if not worker_count(settings):
            return
        stages = []
        for path in build_component_list(settings.getwithbase("ITEM_PIPELINES")):
            stage = load_object(path)
            if not getattr(stage, "in_workers", False):
                break
            stages.append(stage)
    except (ValueError, ImportError, NameError):
        return  # a wrong setting: the crawl, as it is built, says which
    if not stages:
        return
    # The workers unpickle worker_main and the stages: what that imports,
    # imported once in the fork server, is shared by every worker.
    modules = [worker_main.__module__, *(m for stage in stages for m in (*stage.preload, stage.__module__))]
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(dict.fromkeys(modules)))
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        multiprocessing.forkserver.ensure_running()
    finally:
        signal.signal(signal.SIGINT, previous)


def worker_count(settings: BaseSettings) -> int:
    value = settings.get("SIEVE_WORKERS")
    if value is None or value == "":
        return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(0, int(value))


class ParallelItemProcessor:
    @staticmethod
    def start_early(settings: BaseSettings) -> None:
        """Called by ``scrapy crawl`` once it has read its command line."""
        start_fork_server(settings)

    def __init__(
        self, crawler: Crawler, manager: ItemPipelineManager, pool: WorkerPool | None, leading: list[DocumentStage]
    ):
        self.crawler = crawler
        self.manager = manager
        self.pool = pool
        #: The document stages, run here when there are no workers.
        self.leading = leading
        self.sequencer = Sequencer()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        # Built here, where a setting a stage cannot work with stops the
        # crawl at the start; the workers get copies of the document stages.
        stages: list[tuple[str, Any]] = []
        for path in build_component_list(crawler.settings.getwithbase("ITEM_PIPELINES")):
            try:
                stages.append((path, build_from_crawler(load_object(path), crawler)))
            except NotConfigured as exc:  # as Scrapy's own component managers do
                logger.info("Stage %s disabled: %s", path, exc)
        leading = 0
        while leading < len(stages) and getattr(stages[leading][1], "in_workers", False):
            leading += 1
        workers = worker_count(crawler.settings)
        pool = None
        document_stages = [stage for _, stage in stages[:leading]]
        if workers and leading:
            pool = WorkerPool(workers, document_stages, crawler.settings.getfloat("SIEVE_EXTRACT_TIMEOUT"))
            logger.info("Stages in %d worker processes: %s", workers, ", ".join(path for path, _ in stages[:leading]))
            start_fork_server(crawler.settings)
            document_stages = []
        logger.info("Stages in this process: %s", ", ".join(path for path, _ in stages[0 if pool is None else leading :]))
        manager = ItemPipelineManager(*(timed(stage, crawler.stats) for _, stage in stages[leading:]), crawler=crawler)
        return cls(crawler, manager, pool, document_stages)

    async def open_spider_async(self) -> None:
        if self.pool is not None:
            self.pool.start()
        for stage in self.leading:
            stage.start()
        await self.manager.open_spider_async()

    async def close_spider_async(self) -> None:
        try:
            await self.manager.close_spider_async()
        finally:
            if self.pool is not None:
                await self.pool.wait_started()
                self.crawler.signals.send_catch_log(signal=processes_ending)
                self.crawler.stats.set_value("sieve/workers/busy_seconds", round(self.pool.busy, 1))
                self.crawler.stats.set_value("sieve/workers/queued_seconds", round(self.pool.waited, 1))
                self.pool.close()

    async def process_item_async(self, item: Any) -> Any:
        ticket = self.sequencer.ticket()
        try:
            if self.pool is not None and isinstance(item, Page):
                kind, value, stats = await self.pool.process(item)
                for key, count in stats.items():
                    self.crawler.stats.inc_value(key, count)
            else:
                kind, value = apply_stages(self.leading, item, self.crawler.stats)
            await self.sequencer.turn(ticket)
            if kind == "drop":
                raise DropItem(value)
            if kind == "error":
                raise RuntimeError(f"a document stage failed in a worker process:\n{value}")
            if kind == "stage-error":
                # A bug, and the run fails (crawler.runs), but the document
                # is recorded and the others go on.
                value, trace = value
                logger.error("%s: a document stage failed; skipped as stage-error:\n%s", value.url, trace)
                self.crawler.stats.inc_value("sieve/errors/pipeline")
            return await self.manager.process_item_async(value)
        except (sqlite3.Error, DatabaseError) as exc:
            # Whichever stage met it: the open batch is rolled back and the
            # crawl stops, in one line (Database.fail), not a traceback per item.
            database = self.crawler.get_extension(Database)
            if database is None:
                raise
            if isinstance(exc, sqlite3.Error):
                database.fail(exc)
            raise DropItem(f"{getattr(item, 'url', item)} not stored: {database.failure or exc}", log_level="DEBUG") from None
        finally:
            self.sequencer.done(ticket)
