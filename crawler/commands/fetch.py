"""``scrapy fetch``: Scrapy's own, writing nothing to the database."""

from scrapy.commands.fetch import Command as ScrapyCommand

from crawler.commands import StoreNothing


class Command(StoreNothing, ScrapyCommand):
    pass
