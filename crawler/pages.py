"""Responses and failures as items: what a web spider yields for a page it
fetched (a :class:`~crawler.items.Page`, or an ``Unchanged`` or ``Skipped``)
and for a request that came to nothing (a ``Skipped`` with the reason)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy.exceptions import (
    CannotResolveHostError,
    DownloadCancelledError,
    DownloadConnectionRefusedError,
    DownloadFailedError,
    DownloadTimeoutError,
    IgnoreRequest,
    ResponseDataLossError,
)
from scrapy.spidermiddlewares.httperror import HttpError

from crawler.guards import Refused
from crawler.incremental import Incremental, body_hash
from crawler.items import Fetch, Page, Skipped, Unchanged
from crawler.web_urls import host_of

if TYPE_CHECKING:
    from scrapy.http import Response
    from twisted.python.failure import Failure

#: Request meta key: the URL as a list or link named it, when tracking
#: parameters were left out of the request.
NAMED_URL = "sieve_named_url"

HTML_TYPES = {"text/html", "application/xhtml+xml"}
TEXT_TYPES = {"text/plain"}


def content_type_of(response: Response) -> tuple[str, str | None]:
    """The media type (lower case, no parameters) and the whole header."""
    header = response.headers.get("Content-Type")
    if not header:
        return "", None
    full = header.decode("latin-1")
    return full.split(";", 1)[0].strip().lower(), full


def _header(response: Response, name: str) -> str | None:
    value = response.headers.get(name)
    return value.decode("latin-1") if value else None


def page_from_response(
    response: Response, incremental: Incremental, url: str, *, require_article: bool = False
) -> Page | Skipped | Unchanged:
    """The item for a page fetched, known by ``url`` (the response's URL
    without tracking parameters)."""
    fetch = Fetch(
        etag=_header(response, "ETag"), last_modified=_header(response, "Last-Modified"), body_hash=body_hash(response.body)
    )
    if unchanged := incremental.unchanged_response(response, fetch):
        return unchanged
    media_type, header = content_type_of(response)
    if media_type in HTML_TYPES:
        kind = "html"
    elif media_type in TEXT_TYPES:
        kind = "text"
    else:
        return Skipped(url, "unsupported-type", f"the content type is {media_type or 'missing'}, not HTML or text")
    meta = response.request.meta if response.request is not None else {}
    named = [meta.get(NAMED_URL), *meta.get("redirect_urls", ()), response.url]
    return Page(
        url=url,
        body=response.body,
        kind=kind,
        content_type=header,
        source=host_of(response.url),
        require_article=require_article,
        fetch=fetch,
        requested_urls=[u for u in dict.fromkeys(named) if u and u != url],
    )


def skipped_from_failure(failure: Failure, max_bytes: int) -> Skipped:
    """Why a request came to nothing, as a Skipped item for the URL first
    asked for (the one a list or link named), whatever it redirected to."""
    request = failure.request  # type: ignore[attr-defined]
    first_url = request.meta.get("redirect_urls", [request.url])[0]
    skipped = _why(failure.value, request.url, max_bytes)
    if first_url != request.url and skipped.reason != "redirect-loop":
        skipped.detail += f" (after redirects, at {request.url})"
    skipped.url = first_url
    return skipped


def _why(error: BaseException, url: str, max_bytes: int) -> Skipped:
    if isinstance(error, Refused):
        return Skipped(url, error.reason, error.detail)
    if isinstance(error, HttpError):
        status = error.response.status
        return Skipped(url, f"http-{status}", f"the server answered {status}")
    if isinstance(error, IgnoreRequest) and "robots.txt" in str(error):
        return Skipped(url, "robots-denied", "robots.txt forbids fetching it")
    if isinstance(error, IgnoreRequest) and "max redirections" in str(error):
        return Skipped(url, "too-many-redirects", f"more than REDIRECT_MAX_TIMES redirects ({error})")
    # Scrapy's words for a body over DOWNLOAD_MAXSIZE: announced, received,
    # or (Content-Encoding) decompressed.
    if isinstance(error, (DownloadCancelledError, IgnoreRequest)) and (
        "max size" in str(error) or "DOWNLOAD_MAXSIZE" in str(error)
    ):
        return Skipped(url, "too-large", f"more than SIEVE_MAX_BYTES ({max_bytes} bytes): {error}")
    if isinstance(error, DownloadCancelledError) and not str(error):
        # What Scrapy leaves when it cuts off a body that came without a
        # Content-Length at DOWNLOAD_MAXSIZE (it logs the size, but does not
        # say it in the error).
        return Skipped(
            url, "too-large", f"cut off after SIEVE_MAX_BYTES ({max_bytes} bytes), with no Content-Length announced"
        )
    if isinstance(error, DownloadTimeoutError):
        return Skipped(url, "timeout", str(error))
    if isinstance(
        error, (CannotResolveHostError, DownloadConnectionRefusedError, DownloadFailedError, ResponseDataLossError)
    ):
        return Skipped(url, "network-error", f"{type(error).__name__}: {error}")
    return Skipped(url, "download-error", f"{type(error).__name__}: {error}")
