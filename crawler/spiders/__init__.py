"""Sieve's spiders. Each yields :class:`~crawler.items.Page` items (or
:class:`~crawler.items.Skipped` ones) into the same pipeline."""

from __future__ import annotations

from typing import Any

import scrapy
from scrapy.settings import BaseSettings

from crawler import __version__


class SieveSpider(scrapy.Spider):
    """Base of Sieve's spiders: keeps the ``-a`` arguments for the ``runs`` table."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.arguments: dict[str, Any] = {k: v for k, v in kwargs.items() if k != "name"}

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        # A User-Agent naming Sieve and whoever runs it, unless one was set.
        if settings.getpriority("USER_AGENT") == 0:
            contact = settings.get("SIEVE_CONTACT", "").strip()
            agent = f"Sieve/{__version__} (+{contact})" if contact else f"Sieve/{__version__}"
            settings.set("USER_AGENT", agent, priority="spider")
