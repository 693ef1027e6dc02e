"""Which URL an article is known by."""

from __future__ import annotations

import pytest

from crawler.urls import without_tracking
from pipelines.extract import article_key

TRACKING = ["utm_*", "fbclid", "gclid"]


@pytest.mark.parametrize(
    ("url", "clean"),
    [
        ("https://a.example/story?utm_source=rss&utm_medium=feed", "https://a.example/story"),
        ("https://a.example/story?id=7&fbclid=IwAR0&page=2", "https://a.example/story?id=7&page=2"),
        ("https://a.example/story?UTM_Campaign=x#top", "https://a.example/story#top"),
        ("https://a.example/story?id=7", "https://a.example/story?id=7"),
        ("https://a.example/story", "https://a.example/story"),
    ],
)
def test_tracking_parameters_are_left_out_and_others_kept_in_order(url, clean):
    assert without_tracking(url, TRACKING) == clean


def test_same_site_canonical_becomes_the_key():
    assert article_key("https://www.a.example/amp/story", "https://a.example/story") == "https://a.example/story"


@pytest.mark.parametrize(
    "canonical", ["https://a.example/", "https://a.example", "https://other.example/story", None]
)
def test_home_page_other_site_or_no_canonical_keeps_the_fetched_url(canonical):
    assert article_key("https://a.example/story?id=7", canonical) == "https://a.example/story?id=7"
