"""The downloader middlewares that refuse what fetched content asks for."""

from __future__ import annotations

import pytest
from scrapy import Request
from scrapy.http import Response

from crawler.guards import RedirectLoopMiddleware, Refused, WebOnlyMiddleware


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/a", "data:text/html,hi"])
def test_non_web_url_found_in_content_is_refused_as_bad_url(url):
    with pytest.raises(Refused) as refusal:
        WebOnlyMiddleware().process_request(Request(url))
    assert refusal.value.reason == "bad-url"


def redirect(url: str, location: str, visited: list[str]) -> Response:
    request = Request(url, meta={"redirect_urls": visited} if visited else {})
    return RedirectLoopMiddleware().process_response(request, Response(url, status=302, headers={"Location": location}))


def test_redirect_back_to_a_visited_url_is_a_redirect_loop():
    with pytest.raises(Refused) as refusal:
        redirect("http://a.example/b", "/a", ["http://a.example/a"])
    assert refusal.value.reason == "redirect-loop"
    assert "http://a.example/a -> http://a.example/b -> http://a.example/a" in refusal.value.detail


def test_redirect_to_itself_is_a_redirect_loop():
    with pytest.raises(Refused):
        redirect("http://a.example/a", "http://a.example/a#top", [])


def test_redirect_to_a_new_url_passes():
    assert redirect("http://a.example/a", "/b", []).status == 302


def test_redirect_to_a_local_file_is_bad_url():
    with pytest.raises(Refused) as refusal:
        redirect("http://a.example/a", "file:///etc/passwd", [])
    assert refusal.value.reason == "bad-url"
