"""``scrapy genspider``: Scrapy's own, with Sieve's template (``sieve``,
in ``crawler/templates/spiders/``) as the default."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.commands.genspider import Command as ScrapyCommand

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCommand):
    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.set_defaults(template="sieve")
