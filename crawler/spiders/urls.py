from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from crawler.errors import SpiderArgumentError
from crawler.listings import read_url_list
from crawler.spiders import WebSpider


class UrlsSpider(WebSpider):
    """Fetch a list of pages.

    Arguments (``-a name=value``):

    ``path``
        A file with one URL per line, or ``-`` for standard input; blank lines
        and lines starting with ``#`` are ignored. A line that is not an
        http(s) URL is recorded as skipped (``bad-url``).

    Every page is stored as an article: the list is taken to name articles.
    """

    name = "urls"

    def __init__(self, path: str | None = None, **kwargs: Any):
        super().__init__(path=path, **kwargs)
        if not path and self.start_replaced_by is None:
            raise SpiderArgumentError("give the file of URLs with -a path=FILE (or -a path=- for standard input)")
        self.urls = read_url_list(path) if path else []

    async def start(self) -> AsyncIterator[Any]:
        for item in self.checked_requests(self.urls):
            yield item
