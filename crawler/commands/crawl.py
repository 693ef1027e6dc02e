"""``scrapy crawl``, with Sieve's exit status and one-line errors.

Same as Scrapy's own command, except that:

- a wrong setting prints one line, not a traceback (exit status 2), as
  soon as the command line is read; so do a wrong spider argument, and a
  database that cannot be used (exit status 1);
- the worker processes' fork server starts as soon as the command line is
  read, before Scrapy builds the crawl, so that its imports run meanwhile,
  on another CPU;
- a run that the run record (:mod:`crawler.runs`) does not call a success
  exits with status 1, so that cron mails about it;
- below ``LOG_LEVEL=DEBUG``, Scrapy's lists of the components it enabled
  and of the settings overridden are left out of the log.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError
from scrapy.utils.misc import load_object

from crawler.errors import SieveError
from crawler.sieve_settings import check_settings

if TYPE_CHECKING:
    import argparse

    from scrapy.crawler import Crawler

    from crawler.runs import RunRecord

logger = logging.getLogger(__name__)

#: Scrapy's start-up lists, by logger: some fifty lines of every scheduled
#: run's log that say how Scrapy was built, not what the run did.
STARTUP_LISTS = {
    "scrapy.addons": "Enabled addons:",
    "scrapy.middleware": "Enabled %(componentname)ss:",
    "scrapy.crawler": "Overridden settings:",
}


class StartupListFilter(logging.Filter):
    def __init__(self, message_start: str):
        super().__init__()
        self.message_start = message_start

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith(self.message_start)


def leave_out_startup_lists(log_level: str | int) -> None:
    level = log_level if isinstance(log_level, int) else logging.getLevelName(str(log_level).upper())
    if isinstance(level, int) and level <= logging.DEBUG:
        return
    for name, message_start in STARTUP_LISTS.items():
        logging.getLogger(name).addFilter(StartupListFilter(message_start))


class Command(ScrapyCrawlCommand):
    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)
        assert self.settings is not None
        try:
            check_settings(self.settings)
        except SieveError as exc:
            print(f"{' '.join(['scrapy crawl', *args[:1]])}: {exc}", file=sys.stderr)
            raise SystemExit(exc.exit_status) from None
        leave_out_startup_lists(self.settings.get("LOG_LEVEL"))
        if len(args) == 1:
            self._start_item_processor_early()

    def _start_item_processor_early(self) -> None:
        """An item processor with a ``start_early(settings)`` (Sieve's starts
        its workers' fork server) gets going while Scrapy builds the crawl."""
        try:
            processor = load_object(self.settings["ITEM_PROCESSOR"])
        except (ValueError, ImportError, NameError, AttributeError):
            return  # a wrong setting: the crawl, as it is built, says which
        start_early = getattr(processor, "start_early", None)
        if callable(start_early):
            start_early(self.settings)

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name")
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        task = self.crawler_process.crawl(crawler, **opts.spargs)
        start_errors: list[SieveError] = []

        def check(task: asyncio.Task[None]) -> None:
            error = None if task.cancelled() else task.exception()
            if isinstance(error, SieveError):
                start_errors.append(error)
            elif error is not None:
                logger.error("The crawl could not start", exc_info=error)

        task.add_done_callback(check)
        self.crawler_process.start()
        if start_errors:
            print(f"scrapy crawl {args[0]}: {start_errors[0]}", file=sys.stderr)
            self.exitcode = start_errors[0].exit_status
        elif self.crawler_process.bootstrap_failed:
            self.exitcode = 1
        else:
            record = self._run_record(crawler)
            if record is None or not record.succeeded:
                self.exitcode = 1
            if record is not None and record.error:
                print(f"scrapy crawl {args[0]}: {record.error}", file=sys.stderr)

    @staticmethod
    def _run_record(crawler: Crawler) -> RunRecord | None:
        from crawler.runs import RunRecord  # with the database: see crawler.commands

        try:
            return crawler.get_extension(RunRecord)
        except RuntimeError:  # the crawl stopped before its extensions were built
            return None
