"""Which row an article is stored in (pipelines/identity.py): a canonical URL
a page declares is a hint, never a licence to overwrite another article.
Crawls of pages served on 127.0.0.1 with ``scrapy crawl urls``; unit tests
of the stage on an in-memory database."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from crawler.items import Article, Paragraph
from pipelines.identity import may_stand_for
from tests.fixture_site import STORIES, Resource, SiteServer, story_page
from tests.helpers import FAST_WEB, read_rows, scrapy_command, scrapy_crawl

#: Five distinct stories.
FIVE = STORIES[:2] + STORIES[3:6]


def page(story, canonical: str | None = None, head: str = "") -> Resource:
    html = story_page(replace(story, canonical=canonical))
    return Resource(body=html.replace("</head>", f"{head}</head>", 1).encode())


def identity_site(base: str) -> dict[str, Resource]:
    site: dict[str, Resource] = {}
    for n, story in enumerate(FIVE):
        # A template that names the section page as every article's canonical URL.
        site[f"/section{n}.html"] = page(story, f"{base}/news/")
        # Three that name /world/ their base, and declare no canonical URL.
        site[f"/base{n}.html"] = page(story, head='<base href="/world/">')
        site[f"/hreflang{n}.html"] = page(story, head=f'<link rel="alternate" hreflang="x-default" href="{base}/world/">')
        site[f"/cid{n}.html"] = page(story, f"{base}/show.php?cid={n}")
        site[f"/ogurl{n}.html"] = page(story, head=f'<meta property="og:url" content="{base}/news/">')
    first, second = FIVE[0], FIVE[1]
    site["/a.html"] = page(first)
    site["/b.html"] = page(second, f"{base}/a.html")
    # A story in two pages, both declaring page one.
    site["/long.html"] = page(replace(first, paragraphs=first.paragraphs[:2] + second.paragraphs[:1]), f"{base}/long.html")
    site["/long.html?page=2"] = page(replace(first, paragraphs=second.paragraphs[1:] + first.paragraphs[2:]), f"{base}/long.html")
    site["/story.html"] = page(first)
    site["/amp/story.html"] = page(first, f"{base}/story.html")
    site["/both.html"] = page(first, f"{base}/both-canonical.html", head=f'<meta property="og:url" content="{base}/both-og.html">')
    site["/web/2020/http://example.com/story"] = page(second)
    return site


@pytest.fixture(scope="module")
def server():
    server = SiteServer(identity_site)
    server.start()
    yield server
    server.stop()


def crawl_urls(server: SiteServer, db: Path, paths: list[str]) -> str:
    urls = db.parent / f"{db.stem}-urls.txt"
    urls.write_text("".join(f"{server.base}{path}\n" for path in paths))
    result = scrapy_crawl("urls", db=db, args={"path": str(urls)}, settings=FAST_WEB)
    assert result.returncode == 0, result.stderr
    return result.stderr


def stats(db: Path) -> dict:
    return json.loads(read_rows(db, "SELECT stats FROM runs ORDER BY id DESC LIMIT 1")[0]["stats"])


@pytest.fixture(scope="module")
def section_run(server, tmp_path_factory):
    db = tmp_path_factory.mktemp("section") / "sieve.db"
    paths = [f"/section{n}.html" for n in range(5)]
    first = crawl_urls(server, db, paths)
    return db, paths, first


def test_articles_declaring_one_section_page_as_canonical_are_all_kept(server, section_run):
    db, _, _ = section_run
    rows = read_rows(db, "SELECT text, canonical_url FROM articles")
    assert len({row["text"] for row in rows}) == 5
    assert {row["canonical_url"] for row in rows} == {f"{server.base}/news/"}


def test_each_fetched_url_leads_to_its_own_article(server, section_run):
    db, paths, _ = section_run
    rows = read_rows(db, "SELECT url, article_id, how FROM article_urls WHERE how = 'fetched'")
    assert sorted(row["url"] for row in rows) == sorted(server.base + path for path in paths)
    assert len({row["article_id"] for row in rows}) == 5


def test_canonical_conflicts_are_counted_and_logged(section_run):
    db, _, stderr = section_run
    assert stats(db)["sieve/identity/canonical_conflicts"] == 4
    assert stderr.count("stored with another story: stored under its own URL") == 4


def test_second_run_finds_every_article_unchanged(server, section_run, tmp_path):
    db, paths, _ = section_run
    before = read_rows(db, "SELECT id, url, text FROM articles ORDER BY id")
    stderr = crawl_urls(server, db, paths)
    assert "0 new and 0 updated articles" in stderr
    assert [tuple(r) for r in read_rows(db, "SELECT id, url, text FROM articles ORDER BY id")] == [tuple(r) for r in before]


@pytest.mark.parametrize("kind", ["base", "hreflang", "ogurl"])
def test_base_hreflang_or_og_url_naming_a_section_does_not_merge_articles(server, tmp_path, kind):
    db = tmp_path / "sieve.db"
    paths = [f"/{kind}{n}.html" for n in range(3)]
    crawl_urls(server, db, paths)
    assert len({row["text"] for row in read_rows(db, "SELECT text FROM articles")}) == 3


def test_canonical_query_parameters_that_tell_stories_apart_are_kept(server, tmp_path):
    db = tmp_path / "sieve.db"
    crawl_urls(server, db, [f"/cid{n}.html" for n in range(3)])
    urls = {row["url"] for row in read_rows(db, "SELECT url FROM articles")}
    assert urls == {f"{server.base}/show.php?cid={n}" for n in range(3)}


def test_page_declaring_a_stored_articles_url_does_not_overwrite_it(server, tmp_path):
    db = tmp_path / "sieve.db"
    crawl_urls(server, db, ["/a.html"])
    [before] = read_rows(db, "SELECT url, text FROM articles")
    stderr = crawl_urls(server, db, ["/b.html"])
    assert "1 new and 0 updated articles" in stderr
    rows = {row["url"]: row for row in read_rows(db, "SELECT url, text, canonical_url FROM articles")}
    assert rows[before["url"]]["text"] == before["text"]
    assert rows[f"{server.base}/b.html"]["canonical_url"] == f"{server.base}/a.html"


def test_pages_of_one_story_declaring_page_one_are_stored_apart(server, tmp_path):
    db = tmp_path / "sieve.db"
    crawl_urls(server, db, ["/long.html", "/long.html?page=2"])
    assert {row["url"].removeprefix(server.base) for row in read_rows(db, "SELECT url FROM articles")} == {
        "/long.html", "/long.html?page=2",
    }  # fmt: skip


def test_page_at_a_url_another_page_took_as_canonical_takes_it_back(server, tmp_path):
    db = tmp_path / "sieve.db"
    crawl_urls(server, db, ["/long.html?page=2"])
    [(page_two,)] = read_rows(db, "SELECT text FROM articles")
    stderr = crawl_urls(server, db, ["/long.html"])
    rows = {row["url"].removeprefix(server.base): row["text"] for row in read_rows(db, "SELECT url, text FROM articles")}
    assert set(rows) == {"/long.html", "/long.html?page=2"}
    assert rows["/long.html?page=2"] == page_two != rows["/long.html"]
    assert stats(db)["sieve/identity/rows_moved"] == 1
    assert "took back its URL" in stderr


def test_amp_and_tracking_variants_of_one_story_are_one_row_with_every_url_recorded(server, tmp_path):
    db = tmp_path / "sieve.db"
    crawl_urls(server, db, ["/story.html?utm_source=rss", "/story.html", "/amp/story.html"])
    [article] = read_rows(db, "SELECT id, url FROM articles")
    assert article["url"] == f"{server.base}/story.html"
    recorded = {row["url"].removeprefix(server.base): row["how"] for row in read_rows(db, "SELECT url, how FROM article_urls WHERE article_id = ?", (article["id"],))}
    assert recorded == {"/story.html": "fetched", "/amp/story.html": "fetched", "/story.html?utm_source=rss": "requested"}


def test_export_lists_every_url_that_led_to_an_article(server, tmp_path):
    db = tmp_path / "sieve.db"
    crawl_urls(server, db, ["/story.html", "/amp/story.html"])
    result = scrapy_command("export", db=db)
    [record] = [json.loads(line) for line in result.stdout.splitlines()]
    assert record["urls"] == [f"{server.base}/amp/story.html", f"{server.base}/story.html"]


def test_rel_canonical_is_read_before_og_url(server, tmp_path):
    db = tmp_path / "sieve.db"
    crawl_urls(server, db, ["/both.html"])
    assert [row["url"] for row in read_rows(db, "SELECT url FROM articles")] == [f"{server.base}/both-canonical.html"]


def test_url_holding_another_url_is_stored_as_fetched(server, tmp_path):
    db = tmp_path / "sieve.db"
    crawl_urls(server, db, ["/web/2020/http://example.com/story"])
    assert [row["url"] for row in read_rows(db, "SELECT url FROM articles")] == [f"{server.base}/web/2020/http://example.com/story"]


# --- the stage on its own ---------------------------------------------------


@pytest.mark.parametrize(
    ("canonical", "allowed"),
    [
        ("https://a.example/story", True),
        ("https://www.a.example/story", True),
        ("https://a.example/", False),
        ("https://a.example", False),
        ("https://other.example/story", False),
    ],
)
def test_only_a_same_site_canonical_other_than_the_home_page_may_stand_for_a_page(canonical, allowed):
    assert may_stand_for(canonical, "https://a.example/amp/story?id=7") is allowed


def identity_stage(database):
    from pipelines.cross_dedup import NearDuplicateRule
    from pipelines.fingerprints import MinhashConfig
    from pipelines.identity import ArticleIdentityPipeline
    from pipelines.worker_process import StatsDelta

    rule = NearDuplicateRule(MinhashConfig(), threshold=0.8, containment=0.7, min_words=80)
    return ArticleIdentityPipeline(database, rule, ["utm_*"], StatsDelta())


def article(url: str, paragraphs: list[str], canonical: str | None) -> Article:
    return Article(
        url=url, kind="html", source="a.example", paragraphs=[Paragraph(i, t) for i, t in enumerate(paragraphs)],
        canonical_url=canonical, fetched_url=url,
    )  # fmt: skip


def store(database, item: Article) -> None:
    from crawler.incremental import Incremental
    from crawler.storage.corpus import open_index
    from pipelines.fingerprints import MinhashConfig
    from pipelines.store import StorePipeline

    open_index(database, MinhashConfig())
    StorePipeline(database, Incremental(enabled=True, database=database), None, MinhashConfig()).process_item(item)
    database.commit()


def test_canonical_free_or_with_the_same_story_becomes_the_key(fresh_db):
    stage = identity_stage(fresh_db)
    item = stage.process_item(article("https://a.example/amp/1", STORIES[0].paragraphs, "https://a.example/1?utm_source=x"))
    assert (item.url, item.canonical_url) == ("https://a.example/1", "https://a.example/1")
    store(fresh_db, item)
    edited = [*STORIES[0].paragraphs[:-1], STORIES[0].paragraphs[-1] + " Updated at noon."]
    assert stage.process_item(article("https://a.example/print/1", edited, "https://a.example/1")).url == "https://a.example/1"


def test_canonical_holding_another_story_is_not_taken(fresh_db):
    stage = identity_stage(fresh_db)
    store(fresh_db, article("https://a.example/1", STORIES[0].paragraphs, None))
    item = stage.process_item(article("https://a.example/2", STORIES[1].paragraphs, "https://a.example/1"))
    assert (item.url, item.canonical_url) == ("https://a.example/2", "https://a.example/1")
    assert stage.stats.counts["sieve/identity/canonical_conflicts"] == 1
