"""An article's ``published``: the publication time the page declares, in
UTC (``YYYY-MM-DDTHH:MM:SSZ``), or the day alone (``YYYY-MM-DD``) when no
time with a UTC offset is known; ``published_local`` as the page gives it,
with its own offset. Without a declaration: trafilatura's or htmldate's day."""

from __future__ import annotations

import html
import json

import lxml.html
import pytest
import trafilatura.metadata

from crawler.items import Page
from pipelines import author_fallback
from pipelines.declared import Published
from pipelines.extract import Extractor
from pipelines.worker_process import StatsDelta

URL = "https://www.lakeside-courier.example/news/2024/ferry-timetable.html"

PARAGRAPHS = [
    "The Lakeside ferry will run every twenty minutes during the morning rush from next month, "
    "the harbour authority said on Sunday, after a winter in which commuters complained of crowded "
    "decks and missed connections at the north pier.",
    "The new timetable adds four crossings between six and nine o'clock and moves the last evening "
    "sailing from half past ten to eleven, a change that shift workers at the hospital had asked for "
    "in a petition signed by more than eight hundred people.",
    "Harbour master Ines Kowalczyk said the extra sailings were possible because the second vessel, "
    "which spent January in dry dock for repairs to its propeller shaft, had passed its safety "
    "inspection and would return to service on the first of April.",
    "Fares will not change this year. The authority's finance committee is due to review ticket "
    "prices in September, when it also expects to publish the results of a survey on whether a "
    "weekend service to the island villages would pay for itself.",
]


def article_html(head: str = "", byline: str = "By Tomas Lindqvist") -> bytes:
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in PARAGRAPHS)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Ferry to run every twenty minutes in the morning rush | The Lakeside Courier</title>
<meta property="og:type" content="article">
<meta property="og:site_name" content="The Lakeside Courier">
{head}
</head><body>
<header><nav><a href="/">Home</a> <a href="/news/">News</a> <a href="/sport/">Sport</a></nav></header>
<main><article>
<h1>Ferry to run every twenty minutes in the morning rush</h1>
<p class="byline">{byline}</p>
<div class="story-body">{paragraphs}</div>
</article></main>
<footer><p>&copy; 2024 The Lakeside Courier</p></footer>
</body></html>""".encode()


def extracted(body: bytes):
    extractor = Extractor(max_bytes=10_000_000, favor_precision=False, min_article_chars=400, max_link_density=0.5)
    article = extractor.extract(Page(url=URL, body=body, kind="html"), StatsDelta())
    assert len(article.text) >= 600
    return article


def published(body: bytes) -> tuple[str | None, str | None]:
    article = extracted(body)
    return article.published, article.published_local


def json_ld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def test_published_time_with_z_is_utc():
    head = '<meta property="article:published_time" content="2024-03-10T09:00:00Z">'
    assert published(article_html(head)) == ("2024-03-10T09:00:00Z", "2024-03-10T09:00:00+00:00")


def test_published_time_with_offset_is_utc_and_keeps_the_offset_locally():
    head = '<meta property="article:published_time" content="2024-03-10T01:00:00+02:00">'
    assert published(article_html(head)) == ("2024-03-09T23:00:00Z", "2024-03-10T01:00:00+02:00")


def test_sortable_form_orders_as_time_does():
    times = ["2024-03-10T01:00:00+02:00", "2024-03-09T23:30:00-05:00", "2024-03-10", "2024-03-09T22:00:00Z"]
    values = [published(article_html(f'<meta property="article:published_time" content="{t}">'))[0] for t in times]
    assert sorted(values) == ["2024-03-09T22:00:00Z", "2024-03-09T23:00:00Z", "2024-03-10", "2024-03-10T04:30:00Z"]


@pytest.mark.parametrize(
    ("declared", "expected"),
    [
        ("Tue, 15 Sep 2020 10:00:00 EDT", ("2020-09-15T14:00:00Z", "2020-09-15T10:00:00-04:00")),
        ("20200316T130000Z", ("2020-03-16T13:00:00Z", "2020-03-16T13:00:00+00:00")),
        ("2020/10/04 15:05:21", ("2020-10-04", "2020-10-04T15:05:21")),
    ],
)
def test_declared_times_in_other_common_forms_are_read(declared, expected):
    assert published(article_html(f'<meta property="article:published_time" content="{declared}">')) == expected


def test_declared_time_is_preferred_to_the_day_found_in_the_text():
    head = '<meta property="article:published_time" content="2019-11-19T07:03:25+00:00">'
    body = article_html(head, byline="By Tomas Lindqvist, November 18, 2019")
    assert published(body) == ("2019-11-19T07:03:25Z", "2019-11-19T07:03:25+00:00")


@pytest.mark.parametrize("declared", ["0001-01-01T00:00:00Z", "1970-01-01", "2999-01-01T00:00:00Z"])
def test_implausible_declared_time_is_ignored(declared):
    head = f'<meta property="article:published_time" content="{declared}">'
    assert published(article_html(head, byline="By Tomas Lindqvist, March 10, 2024")) == ("2024-03-10", "2024-03-10")


def test_json_ld_date_published_keeps_the_time():
    head = json_ld(
        {
            "@context": "https://schema.org",
            "@graph": [
                {"@type": "WebSite", "name": "The Lakeside Courier"},
                {
                    "@type": "NewsArticle",
                    "headline": "Ferry to run every twenty minutes in the morning rush",
                    "datePublished": "2024-03-10T07:45:00-05:00",
                },
            ],
        }
    )
    assert published(article_html(head)) == ("2024-03-10T12:45:00Z", "2024-03-10T07:45:00-05:00")


def test_naive_declared_time_is_the_day_and_stays_without_offset_locally():
    head = '<meta itemprop="datePublished" content="2024-03-10T09:00:00">'
    assert published(article_html(head)) == ("2024-03-10", "2024-03-10T09:00:00")


def test_page_with_only_a_date_keeps_the_date_alone():
    head = '<meta property="article:published_time" content="2024-03-10">'
    assert published(article_html(head)) == ("2024-03-10", "2024-03-10")


def test_declared_time_on_another_date_than_the_chosen_one_is_not_used():
    # The chosen date comes from article:published_time; the JSON-LD time,
    # a day earlier, does not replace it or add its time to it.
    head = '<meta property="article:published_time" content="2024-03-10">' + json_ld(
        {"@type": "NewsArticle", "datePublished": "2024-03-09T23:30:00-05:00"}
    )
    assert published(article_html(head)) == ("2024-03-10", "2024-03-10")


def test_malformed_declared_time_is_ignored():
    head = '<meta property="article:published_time" content="2024-03-10T25:61:00Z">'
    assert published(article_html(head, byline="By Tomas Lindqvist, March 10, 2024")) == ("2024-03-10", "2024-03-10")


def test_json_ld_that_is_not_json_is_ignored():
    head = '<script type="application/ld+json">{"datePublished": "2024-03-10T08:00:00Z",</script>'
    assert published(article_html(head, byline="By Tomas Lindqvist, March 10, 2024")) == ("2024-03-10", "2024-03-10")


def test_categories_tags_and_licence_are_not_looked_for_and_trafilatura_is_left_as_it_was(monkeypatch):
    def must_not_run(*args):
        raise AssertionError("looked for metadata Sieve does not store")

    monkeypatch.setattr(trafilatura.metadata, "extract_catstags", must_not_run)
    monkeypatch.setattr(trafilatura.metadata, "extract_license", must_not_run)
    extractor = Extractor(max_bytes=10_000_000, favor_precision=False, min_article_chars=400, max_link_density=0.5)
    head = '<meta property="article:tag" content="ferries"><link rel="license" href="https://creativecommons.org/licenses/by/4.0/">'
    article = extractor.extract(Page(url=URL, body=article_html(head), kind="html"), StatsDelta())
    assert article.title and len(article.text) >= 600
    assert trafilatura.metadata.extract_catstags is must_not_run and trafilatura.metadata.extract_license is must_not_run


def test_author_fallback_is_sieves_during_extraction_and_trafilaturas_after(monkeypatch):
    def must_not_run(*args):
        raise AssertionError("trafilatura's own author fallback ran")

    monkeypatch.setattr(trafilatura.metadata, "extract_author", must_not_run)
    extractor = Extractor(max_bytes=10_000_000, favor_precision=False, min_article_chars=400, max_link_density=0.5)
    body = article_html()  # no author in its metadata: its byline paragraph names him
    article = extractor.extract(Page(url=URL, body=body, kind="html"), StatsDelta())
    assert article.author == author_fallback.extract_author(lxml.html.fromstring(body)) == "Tomas Lindqvist"
    assert trafilatura.metadata.extract_author is must_not_run


def test_utc_time_takes_its_local_form_from_a_declaration_of_the_same_moment():
    head = (
        '<meta property="article:published_time" content="2020-12-24T23:59:50+00:00">'
        '<meta itemprop="datePublished" content="2020-12-25T01:59:50+02:00">'
    )
    assert published(article_html(head)) == ("2020-12-24T23:59:50Z", "2020-12-25T01:59:50+02:00")


def test_utc_time_a_day_off_the_day_in_the_url_keeps_the_urls_day_locally():
    from pipelines.declared import publication, url_day

    day = url_day("https://laprensafl.example/2020/02/17/story")
    assert publication(["2020-02-18T02:18:11+00:00"], None, day) == Published("2020-02-18T02:18:11Z", "2020-02-17")
    # Further apart, the URL's day is another matter (an update, a republished story).
    assert publication(["2020-02-20T02:18:11+00:00"], None, day).local == "2020-02-20T02:18:11+00:00"


def searches_of_the_whole_text(monkeypatch) -> list[dict]:
    """The calls of htmldate's whole-text search (``extensive_search``), wherever they come from."""
    import htmldate.core

    calls = []
    real = htmldate.core.find_date

    def find_date(*args, **kwargs):
        if kwargs.get("extensive_search", True):
            calls.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(htmldate.core, "find_date", find_date)
    monkeypatch.setattr(trafilatura.metadata, "find_date", find_date)
    import htmldate as package

    monkeypatch.setattr(package, "find_date", find_date)
    return calls


def test_page_that_declares_its_date_is_not_searched_as_a_whole(monkeypatch):
    calls = searches_of_the_whole_text(monkeypatch)
    head = '<meta property="article:published_time" content="2024-03-10T09:00:00Z">'
    assert published(article_html(head)) == ("2024-03-10T09:00:00Z", "2024-03-10T09:00:00+00:00")
    assert calls == []


def test_page_that_declares_no_date_gets_the_day_its_text_gives(monkeypatch):
    calls = searches_of_the_whole_text(monkeypatch)
    # A date only htmldate's whole-text search reads.
    body = article_html().replace(b"</article>", b"<p>Printed 12/03/2024.</p></article>")
    assert published(body)[0] == "2024-03-12"
    assert len(calls) == 1 and calls[0]["original_date"] is True
