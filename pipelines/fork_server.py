"""The fork server the worker processes come from, started with what the
document stages import already imported, and how many workers a crawl has
(``SIEVE_WORKERS``)."""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.forkserver
import os
import signal
import sys
import threading
import types
from typing import TYPE_CHECKING

from scrapy.utils.conf import build_component_list
from scrapy.utils.misc import load_object

from pipelines.worker_process import worker_main

if TYPE_CHECKING:
    from collections.abc import Iterator

    from scrapy.settings import BaseSettings


_main_module_swap = threading.Lock()


@contextlib.contextmanager
def main_module_left_behind() -> Iterator[None]:
    """While a worker is started (in a thread: see WorkerPool.start).
    multiprocessing has a new process import its parent's main module, for
    what is defined there; for ``scrapy crawl`` that is Scrapy's console
    script, which imports all of Scrapy in every worker, for nothing a
    worker uses (its stages come from modules of their own)."""
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
    (:meth:`pipelines.workers.ParallelItemProcessor.start_early`; it does nothing if the crawl
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
