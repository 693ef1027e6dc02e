"""Sieve's spiders. Each yields :class:`~crawler.items.Page` items (or
:class:`~crawler.items.Skipped` ones) into the same pipeline."""

from __future__ import annotations

from typing import Any

import scrapy


class SpiderArgumentError(ValueError):
    """A spider argument is missing or wrong; ``scrapy crawl`` prints it as a
    one-line error and exits with status 2."""


class SieveSpider(scrapy.Spider):
    """Base of Sieve's spiders: keeps the ``-a`` arguments for the ``runs`` table."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.arguments: dict[str, Any] = {k: v for k, v in kwargs.items() if k != "name"}
