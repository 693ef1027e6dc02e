"""Downloader middlewares that refuse what fetched content must not make
Sieve do, each refusal a :class:`Refused` error that the spider records as
skipped, with its reason:

- :class:`WebOnlyMiddleware`: only http(s) URLs are fetched (the ``files``
  spider reads the files the user named itself). A ``file://`` URL found in
  a sitemap, robots.txt, feed, link, redirect or canonical link is
  ``bad-url``.
- :class:`RedirectLoopMiddleware`: a redirect back to a URL already visited
  on the way (a loop, or a page redirecting to itself) is ``redirect-loop``;
  Scrapy's own limit (``REDIRECT_MAX_TIMES``) gives ``too-many-redirects``.

Scrapy's robots.txt middleware, mended, is in :mod:`crawler.scrapy_internals`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urljoin

from scrapy.exceptions import IgnoreRequest

from crawler.web_urls import is_web_url

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response


class Refused(IgnoreRequest):
    """A request Sieve will not make or follow; ``reason`` is the skip reason."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class WebOnlyMiddleware:
    def process_request(self, request: Request) -> None:
        if not is_web_url(request.url):
            raise Refused("bad-url", "not an http or https URL; only the command line may name local files")


class RedirectLoopMiddleware:
    """Placed before Scrapy's RedirectMiddleware (a higher number), so that
    it sees a redirect response first."""

    def process_response(self, request: Request, response: Response) -> Response:
        location = response.headers.get("Location")
        if not (300 <= response.status < 400 and location):
            return response
        target = urljoin(request.url, location.decode("latin-1")).split("#", 1)[0]
        if not is_web_url(target):
            # Scrapy would hand the redirect itself to the spider instead.
            raise Refused("bad-url", f"redirected to {target}, not an http or https URL")
        visited = [*request.meta.get("redirect_urls", []), request.url]
        if target in (url.split("#", 1)[0] for url in visited):
            chain = " -> ".join([*visited, target])
            raise Refused("redirect-loop", f"the redirects go round in a circle: {chain}")
        return response
