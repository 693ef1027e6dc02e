"""URL helpers: tracking parameters left out."""

from __future__ import annotations

import pytest

from crawler.urls import without_tracking

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
