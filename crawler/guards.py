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
- :class:`RobotsTxtMiddleware`: Scrapy's, mended so that robots.txt holds
  for every request that waits for its download.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urljoin

from scrapy.downloadermiddlewares import robotstxt
from scrapy.exceptions import IgnoreRequest
from scrapy.utils.defer import maybe_deferred_to_future
from scrapy.utils.httpobj import urlparse_cached
from twisted.internet.defer import Deferred

from crawler.urls import is_web_url

if TYPE_CHECKING:
    from scrapy import Request
    from scrapy.http import Response
    from scrapy.robotstxt import RobotParser

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


class RobotsTxtMiddleware(robotstxt.RobotsTxtMiddleware):
    """Scrapy's robots.txt middleware (``ROBOTSTXT_OBEY``). In Scrapy 2.19,
    requests that arrive while a host's robots.txt is being downloaded all
    await the same Deferred; the first takes the parser and the others get
    None, which means "allowed": a URL list, a sitemap or a cluster crawler
    fetched disallowed pages. Each waiter here gets a Deferred of its own,
    fired with the parser, which passes on down the shared one."""

    async def robot_parser(self, request: Request) -> RobotParser | None:
        pending = self._parsers.get(urlparse_cached(request).netloc)
        if isinstance(pending, Deferred):
            mine: Deferred[RobotParser | None] = Deferred()

            def share(parser: RobotParser | None) -> RobotParser | None:
                mine.callback(parser)
                return parser

            pending.addCallback(share)
            return await maybe_deferred_to_future(mine)
        return await super().robot_parser(request)
