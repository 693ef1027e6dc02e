"""What a crawl's processes import, for tests/test_startup.py: a document
stage (run in the worker processes) and an extension (in the crawl's own
process) each append the top-level packages imported so far to the file
named by the ``MODULES_REPORT`` environment variable, one JSON line per
process."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from pipelines.stage import DocumentStage

_reported = False


def report(process: str) -> None:
    global _reported
    if _reported:
        return
    _reported = True
    packages = sorted({name.partition(".")[0] for name in sys.modules})
    with open(os.environ["MODULES_REPORT"], "a") as report_file:
        report_file.write(json.dumps({"process": process, "pid": os.getpid(), "packages": packages}) + "\n")


class WorkerModules(DocumentStage):
    @classmethod
    def build(cls, settings: Any, stats: Any) -> WorkerModules:
        return cls()

    def process_item(self, item: Any) -> Any:
        report("worker")
        return item


class CrawlModules:
    @classmethod
    def from_crawler(cls, crawler: Any) -> CrawlModules:
        from scrapy import signals  # here: the workers import this module too

        extension = cls()
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    def spider_closed(self, spider: Any) -> None:
        report("crawl")
