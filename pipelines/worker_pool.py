"""The pool of worker processes that run the document stages, one page
at a time each, for :mod:`pipelines.workers`. A worker that crashes, or takes
longer than the timeout on a page, is replaced, and its page becomes a
``skipped`` document (``worker-crashed``, ``extraction-timeout``); workers
that keep dying before finishing any page break the pool.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from crawler.items import Page, Skipped
from pipelines.fork_server import main_module_left_behind
from pipelines.worker_process import Outcome, PoolBroken, Processed, worker_main

if TYPE_CHECKING:
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

    from pipelines.stage import DocumentStage

logger = logging.getLogger(__name__)


@dataclass
class _Task:
    page: Page
    future: asyncio.Future[Outcome]
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
    started from the fork server (:func:`pipelines.fork_server.start_fork_server`)."""

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
            with main_module_left_behind():
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

    async def process(self, page: Page) -> Outcome:
        """What the document stages made of ``page`` in a worker."""
        assert self.loop is not None
        if self.broken:
            return PoolBroken(self.broken)
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

    def _finish(self, worker: _Worker, outcome: Outcome) -> None:
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
                self._finish(worker, Processed(Skipped(worker.task.page.url, reason, detail, worker.task.page.fetch)))
            else:
                self._finish(worker, PoolBroken(self.broken))
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
                task.future.set_result(PoolBroken(self.broken))
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
