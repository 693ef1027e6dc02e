"""``scrapy parse``: Scrapy's own. The spider's input arguments are not
needed (the command gives the URL); nothing is written to the database
unless ``--pipelines`` sends the items through Sieve's stages."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.commands.parse import Command as ScrapyCommand

from crawler.commands import TOOL_PRIORITY, StoreNothing

if TYPE_CHECKING:
    import argparse


class Command(StoreNothing, ScrapyCommand):
    def runs_stages(self, opts: argparse.Namespace) -> bool:
        if not opts.pipelines:
            return False
        # scrapy parse hands each item to the stages without waiting for it:
        # they must be done within that call, so in this process.
        assert self.settings is not None
        self.settings.set("SIEVE_WORKERS", 0, priority=TOOL_PRIORITY)
        return True

    def set_spidercls(self, url: str, opts: argparse.Namespace) -> None:
        super().set_spidercls(url, opts)
        if self.spidercls is not None:
            self.spidercls.start_replaced_by = "scrapy parse"
