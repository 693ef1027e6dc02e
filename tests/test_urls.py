"""URL helpers: tracking parameters left out."""

from __future__ import annotations

import pytest

from crawler.urls import key_url, without_tracking

TRACKING = ["utm_*", "fbclid", "gclid"]


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://a.example/story?utm_source=rss&utm_medium=feed", "https://a.example/story"),
        ("https://a.example/story?id=7&fbclid=IwAR0&page=2", "https://a.example/story?id=7&page=2"),
        ("https://a.example/story?UTM_Campaign=x#top", "https://a.example/story#top"),
        ("https://a.example/story?id=7", "https://a.example/story?id=7"),
        ("https://a.example/story", "https://a.example/story"),
        ("https://a.example/s?name=caf%E9&utm_source=x", "https://a.example/s?name=caf%E9"),
        ("https://a.example/s?a=1;b=2&utm_source=x", "https://a.example/s?a=1;b=2"),
        ("https://a.example/s?q=a+b&x=%2F&gclid=1&y", "https://a.example/s?q=a+b&x=%2F&y"),
        ("https://a.example/s?utm%5Fsource=x&id=1", "https://a.example/s?id=1"),
    ],
)
def test_tracking_parameters_are_left_out_and_others_kept_in_order(url, clean):
    assert without_tracking(url, TRACKING) == clean


SESSIONS = [*TRACKING, "phpsessid", "jsessionid", "sid"]


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://news.test:80/a", "http://news.test/a"),
        ("https://news.test:443/a", "https://news.test/a"),
        ("http://news.test:8080/a", "http://news.test:8080/a"),
        ("http://news.test./a", "http://news.test/a"),
        ("http://news.test.:80/a", "http://news.test/a"),
        ("http://[::1]:80/a", "http://[::1]/a"),
        ("http://[::1]:8080/a", "http://[::1]:8080/a"),
        ("http://news.test/a;jsessionid=0AB12?page=2", "http://news.test/a?page=2"),
        ("http://news.test/a?PHPSESSID=9f8e&id=2&sid=77", "http://news.test/a?id=2"),
    ],
)
def test_one_page_has_one_key_whatever_its_port_trailing_dot_or_session(url, key):
    assert key_url(url, SESSIONS) == key
