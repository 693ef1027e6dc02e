"""crawler.pages (responses and failures as items) and crawler.bodies (the
size limit and gunzip)."""

from __future__ import annotations

import gzip

import pytest
from scrapy import Request
from scrapy.exceptions import CannotResolveHostError, DownloadCancelledError, DownloadTimeoutError, IgnoreRequest
from scrapy.http import HtmlResponse, Response, TextResponse
from scrapy.spidermiddlewares.httperror import HttpError
from twisted.python.failure import Failure

from crawler.bodies import Unreadable, document_bytes
from crawler.incremental import Incremental, body_hash
from crawler.items import Page, Skipped
from crawler.pages import page_from_response, skipped_from_failure

URL = "https://www.Gazette.example/news/library-reopens"
FAILED_URL = "https://gazette.example/news/bus-route"
HTML = b"<html><body><p>The Harbourside public library reopened on Saturday.</p></body></html>"


@pytest.fixture
def incremental(fresh_db):
    return Incremental(enabled=True, database=fresh_db)


MAX_BYTES = 10_000


def failure(exc: Exception, url: str = FAILED_URL) -> Failure:
    try:
        raise exc
    except Exception:
        result = Failure()
    result.request = Request(url)
    return result


def test_html_response_is_an_html_page_from_its_host(incremental):
    headers = {"Content-Type": "text/html; charset=utf-8", "ETag": '"v1"'}
    page = page_from_response(HtmlResponse(URL, body=HTML, headers=headers, request=Request(URL)), incremental, URL)
    assert isinstance(page, Page)
    assert (page.kind, page.source) == ("html", "gazette.example")
    assert page.content_type == "text/html; charset=utf-8"
    assert page.body == HTML
    assert (page.fetch.etag, page.fetch.body_hash) == ('"v1"', body_hash(HTML))


def test_plain_text_response_is_a_text_page(incremental):
    url = "https://gazette.example/news/library.txt"
    response = TextResponse(url, body=b"Library reopens.", headers={"Content-Type": "text/plain"}, request=Request(url))
    page = page_from_response(response, incremental, URL, require_article=True)
    assert (page.kind, page.require_article) == ("text", True)


def test_pdf_response_is_skipped_as_unsupported(incremental):
    headers = {"Content-Type": "application/pdf"}
    item = page_from_response(Response(URL, body=b"%PDF-1.7", headers=headers, request=Request(URL)), incremental, URL)
    assert isinstance(item, Skipped)
    assert item.reason == "unsupported-type"
    assert "application/pdf" in item.detail


def test_response_without_content_type_is_skipped(incremental):
    item = page_from_response(Response(URL, body=HTML, request=Request(URL)), incremental, URL)
    assert isinstance(item, Skipped)
    assert item.reason == "unsupported-type"
    assert "missing" in item.detail


def test_http_404_is_skipped_with_the_status():
    response = Response(FAILED_URL, status=404, request=Request(FAILED_URL))
    assert skipped_from_failure(failure(HttpError(response, "Ignoring non-200 response")), MAX_BYTES).reason == "http-404"


def test_robots_denial_is_skipped_as_robots_denied():
    item = skipped_from_failure(failure(IgnoreRequest("Forbidden by robots.txt")), MAX_BYTES)
    assert (item.url, item.reason) == (FAILED_URL, "robots-denied")


def test_other_ignored_request_is_a_download_error():
    assert skipped_from_failure(failure(IgnoreRequest("Filtered offsite")), MAX_BYTES).reason == "download-error"


def test_download_over_the_max_size_is_too_large():
    message = (
        "Expected to receive 300000 bytes which is larger than download max size (200000) "
        f"in request <GET {FAILED_URL}>."
    )
    assert skipped_from_failure(failure(DownloadCancelledError(message)), MAX_BYTES).reason == "too-large"


def test_timeout_is_skipped_as_timeout():
    assert skipped_from_failure(failure(DownloadTimeoutError("Getting took longer than 180 s")), MAX_BYTES).reason == "timeout"


def test_dns_failure_is_a_network_error():
    item = skipped_from_failure(failure(CannotResolveHostError("DNS lookup failed: gazette.example")), MAX_BYTES)
    assert item.reason == "network-error"
    assert "CannotResolveHostError" in item.detail


def test_unexpected_exception_is_a_download_error():
    item = skipped_from_failure(failure(ValueError("something odd")), MAX_BYTES)
    assert item.reason == "download-error"
    assert item.detail == "ValueError: something odd"


def unreadable(body: bytes, max_bytes: int) -> str:
    with pytest.raises(Unreadable) as caught:
        document_bytes(body, max_bytes)
    return caught.value.reason


def test_plain_body_within_the_limit_is_returned_as_is():
    assert document_bytes(b"x" * 100, 100) == b"x" * 100


def test_plain_body_over_the_limit_is_too_large():
    assert unreadable(b"x" * 101, 100) == "too-large"


def test_gzip_body_is_unpacked():
    assert document_bytes(gzip.compress(HTML), 1000) == HTML


def test_gzip_that_inflates_past_the_limit_is_too_large():
    body = gzip.compress(b"a" * 10_000)
    assert len(body) < 100
    assert unreadable(body, 100) == "too-large"


def test_truncated_gzip_is_refused():
    assert unreadable(gzip.compress(HTML)[:-12], 1000) == "truncated-gzip"


def test_corrupt_gzip_is_refused():
    assert unreadable(b"\x1f\x8b" + b"not deflate data at all" * 3, 1000) == "bad-gzip"


def test_stray_bytes_after_gzip_are_refused():
    assert unreadable(gzip.compress(HTML) + b"trailing junk", 1000) == "bad-gzip"


def test_concatenated_gzip_members_are_joined():
    assert document_bytes(gzip.compress(b"first part, ") + gzip.compress(b"second part"), 1000) == b"first part, second part"


def test_concatenated_gzip_members_share_the_limit():
    body = gzip.compress(b"a" * 60) + gzip.compress(b"b" * 60)
    assert unreadable(body, 100) == "too-large"
