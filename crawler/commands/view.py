"""``scrapy view``: Scrapy's own, writing nothing to the database."""

from scrapy.commands.view import Command as ScrapyCommand

from crawler.commands import StoreNothing


class Command(StoreNothing, ScrapyCommand):
    pass
