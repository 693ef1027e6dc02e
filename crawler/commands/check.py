"""``scrapy check``: Scrapy's own, writing nothing to the database. The
spiders' input arguments are not needed (the contracts give the URLs)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.commands.check import Command as ScrapyCommand

from crawler.commands import StoreNothing

if TYPE_CHECKING:
    import argparse


class Command(StoreNothing, ScrapyCommand):
    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.crawler_process is not None
        loader = self.crawler_process.spider_loader
        for name in args or loader.list():
            loader.load(name).start_replaced_by = "scrapy check"
        super().run(args, opts)
