"""``scrapy crawl``, with Sieve's exit status and argument errors.

Same as Scrapy's own command, except that a wrong spider argument prints one
line instead of a traceback (exit status 2), and a run that did not finish
exits with status 1, so that cron mails about it.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING

from scrapy.commands.crawl import Command as ScrapyCrawlCommand
from scrapy.exceptions import UsageError

from crawler.spiders import SpiderArgumentError

if TYPE_CHECKING:
    import argparse

logger = logging.getLogger(__name__)


class Command(ScrapyCrawlCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        if len(args) != 1:
            raise UsageError("give exactly one spider name")
        assert self.crawler_process
        crawler = self._create_crawler(args[0])
        task = self.crawler_process.crawl(crawler, **opts.spargs)
        argument_errors: list[str] = []

        def check(task: asyncio.Task[None]) -> None:
            error = None if task.cancelled() else task.exception()
            if isinstance(error, SpiderArgumentError):
                argument_errors.append(str(error))
            elif error is not None:
                logger.error("The crawl could not start", exc_info=error)

        task.add_done_callback(check)
        self.crawler_process.start()
        if argument_errors:
            print(f"scrapy crawl {args[0]}: {argument_errors[0]}", file=sys.stderr)
            self.exitcode = 2
        elif self.crawler_process.bootstrap_failed:
            self.exitcode = 1
        elif crawler.stats.get_value("finish_reason") != "finished":
            self.exitcode = 1
