"""Scrapy contracts for Sieve's spiders (``scrapy check``)."""

from __future__ import annotations

from typing import Any

from scrapy.contracts import Contract
from scrapy.exceptions import UsageError


class UrlArgumentContract(Contract):
    """``@url_argument NAME``: the request goes to the URL the spider was
    given with ``-a NAME=URL`` (``scrapy check site -a url=https://...``).
    Sieve's spiders crawl whatever site they are given, so no URL can be
    written into them as ``@url`` wants."""

    name = "url_argument"

    def adjust_request_args(self, args: dict[str, Any]) -> dict[str, Any]:
        name = self.args[0]
        callback = args["callback"]
        url = getattr(callback.__self__, "arguments", {}).get(name)
        if not url:
            raise UsageError(f"{callback.__self__.name}.{callback.__name__}: give the URL to check with -a {name}=URL")
        args["url"] = url
        return args
