"""Pages from any spider (crawler/spider_items.py): responses and items
with url and html or text become pages; an item that cannot be used is a
skipped row saying what is missing."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from crawler.items import Page
from crawler.spider_items import UnusableItem, page_from_item
from tests.fixture_site import STORIES
from tests.helpers import FAST_WEB, REPO, read_rows, scrapy_crawl

URL = "https://gazette.example/news/story.html"


def test_dict_with_url_and_html_becomes_an_html_page_of_its_host():
    page = page_from_item({"url": URL, "html": "<p>Ünïcode</p>"})
    assert isinstance(page, Page)
    assert (page.kind, page.source, page.body.decode("utf-8"), page.known) == ("html", "gazette.example", "<p>Ünïcode</p>", None)
    assert "utf-8" in page.content_type


def test_dict_with_text_becomes_a_text_page():
    assert page_from_item({"url": URL, "text": "A story."}).kind == "text"


def test_dataclass_item_is_read_like_a_dict():
    @dataclass
    class Story:
        url: str
        html: str

    assert page_from_item(Story(URL, "<p>x</p>")).url == URL


def test_what_the_spider_knows_is_kept_with_the_page():
    page = page_from_item({"url": URL, "html": "<p>x</p>", "title": " Budget ", "published": "2024-03-12T09:30:00+01:00", "author": ["Ann Lee", "Bo Park"]})
    assert (page.known.title, page.known.published, page.known.authors) == ("Budget", "2024-03-12T09:30:00+01:00", ["Ann Lee", "Bo Park"])


@pytest.mark.parametrize(
    ("item", "says"),
    [
        ({"html": "<p>x</p>"}, "it has no url"),
        ({"url": "file:///etc/passwd", "html": "<p>x</p>"}, "not an http(s) URL"),
        ({"url": URL}, "neither html nor text (its fields: url)"),
        ({"url": URL, "html": "<p>x</p>", "text": "x"}, "both html and text"),
        ({"url": URL, "html": b"<p>x</p>"}, "its html is a bytes, not a string"),
        ({"url": URL, "html": "<p>x</p>", "published": "last Tuesday"}, "not an ISO 8601 date or time"),
        ({"url": URL, "html": "<p>x</p>", "author": 7}, "not a name or a list of names"),
    ],
)
def test_item_that_cannot_be_used_says_what_is_wrong(item, says):
    with pytest.raises(UnusableItem) as raised:
        page_from_item(item)
    assert says in raised.value.detail


def test_spider_knowledge_replaces_what_extraction_finds():
    from pipelines.extract import ExtractPipeline
    from tests.helpers import project_crawler

    stage = ExtractPipeline.from_crawler(project_crawler())
    html = "<html><head><title>Page title</title><meta name='author' content='Page Author'></head><body><article>" + "<p>The council met on Tuesday and voted on the budget for the coming year.</p>" * 3 + "</article></body></html>"
    article = stage.process_item(page_from_item({"url": URL, "html": html, "title": "Spider title", "published": "2024-03-12T09:30:00+01:00", "author": "Ann Lee"}))
    assert (article.title, article.author, article.published, article.published_local) == (
        "Spider title", "Ann Lee", "2024-03-12T08:30:00Z", "2024-03-12T09:30:00+01:00",
    )  # fmt: skip


def docs_example() -> str:
    text = (REPO / "docs" / "spiders.md").read_text()
    return re.search(r"<!-- own-spider-example -->\n```python\n(.*?)```", text, re.S)[1]


def crawl_own_spider(tmp_path: Path, name: str, source: str, **args: str):
    """``scrapy crawl NAME`` of a spider module written to ``tmp_path``, as a
    user's own module of spiders."""
    package = tmp_path / "own_spiders"
    package.mkdir(exist_ok=True)
    (package / "__init__.py").write_text("")
    (package / f"{name}.py").write_text(source)
    db = tmp_path / "sieve.db"
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    result = scrapy_crawl(name, db=db, args=args, settings={**FAST_WEB, "SPIDER_MODULES": "own_spiders"}, env=env)
    return db, result


def test_docs_example_spider_stores_the_front_page_stories_with_their_bylines(site, tmp_path):
    db, result = crawl_own_spider(tmp_path, "gazette", docs_example(), url=f"{site.base}/")
    assert result.returncode == 0, result.stderr
    front_page = {f"{site.base}{s.path}": s for s in STORIES[:3]}
    stored = {r["url"]: r for r in read_rows(db, "SELECT url, title, author, text FROM articles")}
    assert set(stored) == set(front_page)
    for url, story in front_page.items():
        assert (stored[url]["title"], stored[url]["author"]) == (story.title, story.author)
        assert stored[url]["text"].startswith("\n\n".join(story.paragraphs))


UNUSABLE_SPIDER = '''
import scrapy

class Broken(scrapy.Spider):
    name = "broken"

    def __init__(self, url, **kwargs):
        super().__init__(**kwargs)
        self.start_urls = [url]

    def parse(self, response):
        yield {"url": response.url, "body": response.text}
'''


def test_item_without_html_is_a_skipped_row_saying_what_is_missing(site, tmp_path):
    db, result = crawl_own_spider(tmp_path, "broken", UNUSABLE_SPIDER, url=f"{site.base}/")
    assert [tuple(r) for r in read_rows(db, "SELECT url, reason FROM skipped")] == [(f"{site.base}/", "unusable-item")]
    [detail] = [r[0] for r in read_rows(db, "SELECT detail FROM skipped")]
    assert "neither html nor text (its fields: url, body)" in detail
    assert "The broken spider yielded an item Sieve cannot use" in result.stderr
    assert "0 new" in result.stderr and "1 skipped" in result.stderr


RESPONSE_SPIDER = '''
import scrapy
from crawler.spider_items import FetchedPage

class Pages(scrapy.Spider):
    name = "pages"

    def __init__(self, url, **kwargs):
        super().__init__(**kwargs)
        self.start_urls = [url]

    def parse(self, response):
        yield from response.follow_all(css="a", callback=self.page)

    def page(self, response):
        if "/news/" in response.url:
            yield FetchedPage(response, title="Known: " + response.url.rsplit("/", 1)[-1])
        else:
            yield response
'''


def test_fetched_pages_and_responses_are_read_as_sieves_own_spiders_read_them(site, tmp_path):
    db, result = crawl_own_spider(tmp_path, "pages", RESPONSE_SPIDER, url=f"{site.base}/")
    assert result.returncode == 0, result.stderr
    titles = {r["url"].removeprefix(site.base): r["title"] for r in read_rows(db, "SELECT url, title FROM articles")}
    assert titles["/news/council-approves-budget.html"] == "Known: council-approves-budget.html"
    assert titles["/about/"] == "About us"
    skipped = {r["url"].removeprefix(site.base): r["reason"] for r in read_rows(db, "SELECT url, reason FROM skipped")}
    assert skipped["/download/annual-report"] == "unsupported-type"
