"""The web spiders, each as a real ``scrapy crawl`` against the fixture site
served on 127.0.0.1 (see tests/fixture_site.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixture_site import ODD_PATHS, STORIES
from tests.helpers import FAST_WEB, REPO, read_rows, scrapy_crawl

ALL_ARTICLES = {s.path for s in STORIES}
NEWS = {s.path for s in STORIES if s.path.startswith("/news/")}
SPORT = {s.path for s in STORIES if s.path.startswith("/sport/")}
LISTINGS = {"/", "/news/", "/news/page/2/", "/sport/", "/about/"}


def paths(db: Path, table: str, base: str) -> set[str]:
    return {row[0].removeprefix(base) for row in read_rows(db, f"SELECT url FROM {table}")}


def crawl_web(spider: str, db: Path, **args: str) -> subprocess.CompletedProcess[str]:
    return scrapy_crawl(spider, db=db, args=args, settings=FAST_WEB)


@pytest.fixture(scope="module")
def site_run(site, tmp_path_factory):
    db = tmp_path_factory.mktemp("site") / "sieve.db"
    result = crawl_web("site", db, url=f"{site.base}/")
    return db, result, site.paths_requested()


def test_site_crawl_exits_zero(site_run):
    _, result, _ = site_run
    assert result.returncode == 0, result.stderr


def test_site_crawl_stores_the_articles_and_only_them(site, site_run):
    db, _, _ = site_run
    assert paths(db, "articles", site.base) == ALL_ARTICLES


def test_index_and_listing_pages_are_not_stored_as_articles(site, site_run):
    db, _, _ = site_run
    rows = read_rows(db, "SELECT url, reason FROM skipped")
    reasons = {r["url"].removeprefix(site.base): r["reason"] for r in rows}
    assert {p: reasons.get(p) for p in LISTINGS} == {p: "not-an-article" for p in LISTINGS}


@pytest.mark.parametrize("path", sorted(ODD_PATHS))
def test_page_that_cannot_be_stored_is_skipped_with_its_reason(site, site_run, path):
    db, _, _ = site_run
    rows = read_rows(db, "SELECT reason, detail FROM skipped WHERE url = ?", (site.base + path,))
    assert [r["reason"] for r in rows] == [ODD_PATHS[path]]
    assert rows[0]["detail"]


def test_skipped_non_html_names_its_content_type(site, site_run):
    db, _, _ = site_run
    [row] = read_rows(db, "SELECT detail FROM skipped WHERE url = ?", (f"{site.base}/download/annual-report",))
    assert "application/pdf" in row["detail"]


def test_every_page_answered_is_either_stored_or_skipped(site, site_run):
    db, _, requested = site_run
    answered = set(requested) - {"/robots.txt", "/old/flood-warning"}
    stored, skipped = paths(db, "articles", site.base), paths(db, "skipped", site.base)
    assert stored & skipped == set()
    assert answered <= stored | skipped
    assert (stored | skipped) - answered == {"/private/staff-notes.html"}


def test_robots_txt_disallowed_page_is_never_fetched(site_run):
    _, _, requested = site_run
    assert "/private/staff-notes.html" not in requested


def test_redirected_article_is_stored_once_under_its_final_url(site, site_run):
    db, _, requested = site_run
    assert "/old/flood-warning" in requested
    rows = read_rows(db, "SELECT url FROM articles WHERE url LIKE '%flood%'")
    assert [r["url"] for r in rows] == [f"{site.base}/news/flood-warning-lifted.html"]


def test_links_to_other_hosts_are_not_followed(site_run):
    db, _, _ = site_run
    assert read_rows(db, "SELECT count(*) FROM skipped WHERE url LIKE '%elsewhere%'")[0][0] == 0


def test_canonical_url_on_another_site_is_kept_but_changes_neither_key_nor_source(site, site_run):
    db, _, _ = site_run
    [row] = read_rows(db, "SELECT url, canonical_url, source FROM articles WHERE url LIKE '%library-reopens%'")
    assert row["url"] == f"{site.base}/news/library-reopens.html"
    assert row["canonical_url"] == "https://www.riverton-gazette.example/news/library-reopens"
    assert row["source"] == "127.0.0.1"


def test_page_without_canonical_has_its_host_as_source(site_run):
    db, _, _ = site_run
    [row] = read_rows(db, "SELECT canonical_url, source FROM articles WHERE url LIKE '%bridge-closure%'")
    assert (row["canonical_url"], row["source"]) == (None, "127.0.0.1")


def test_article_metadata_comes_from_the_page(site_run):
    db, _, _ = site_run
    [row] = read_rows(db, "SELECT * FROM articles WHERE url LIKE '%council-approves-budget%'")
    assert row["title"] == "Council approves budget with three new bus routes"
    assert row["author"] == "Maria Okafor"
    assert row["published"] == "2024-03-12T08:00:00Z"  # the page declares the time
    assert row["published_local"] == "2024-03-12T08:00:00+00:00"
    assert row["language"] == "en"
    assert row["sitename"] == "The Riverton Gazette"


def test_article_text_has_no_template_or_comments(site_run):
    db, _, _ = site_run
    texts = "\n".join(r["text"] for r in read_rows(db, "SELECT text FROM articles"))
    for boilerplate in ["riverrat55", "All rights reserved", "Most read", "Share:", "morning briefing", "About us"]:
        assert boilerplate not in texts
    assert "a foundry in Ohio" in texts


def test_requests_name_sieve_and_its_contact(site, site_run):
    agents = {headers.get("User-Agent") for _, _, headers in site.log}
    assert agents == {"Sieve/0.1.0 (+tests@sieve.invalid)"}


def test_second_crawl_stores_nothing_twice_and_records_its_run(site, site_run):
    db, _, _ = site_run
    before = read_rows(db, "SELECT id, url FROM articles ORDER BY id")
    skipped_before = read_rows(db, "SELECT count(*) FROM skipped")[0][0]
    assert crawl_web("site", db, url=f"{site.base}/").returncode == 0
    assert [tuple(r) for r in read_rows(db, "SELECT id, url FROM articles ORDER BY id")] == [tuple(r) for r in before]
    assert read_rows(db, "SELECT count(*) FROM skipped")[0][0] == skipped_before
    runs = read_rows(db, "SELECT id, status, stats FROM runs ORDER BY id")
    assert [(r["id"], r["status"]) for r in runs] == [(1, "finished"), (2, "finished")]
    # The second run asked for each article only if it changed (it had not).
    assert '"sieve/unchanged/not-modified": 6' in runs[1]["stats"]
    assert "sieve/articles_stored" not in runs[1]["stats"]


def test_depth_limits_how_far_the_crawl_goes(site, tmp_path):
    db = tmp_path / "sieve.db"
    assert crawl_web("site", db, url=f"{site.base}/news/", depth="0").returncode == 0
    assert paths(db, "articles", site.base) | paths(db, "skipped", site.base) == {"/news/"}


def test_allow_limits_which_links_are_followed(site, tmp_path):
    db = tmp_path / "sieve.db"
    assert crawl_web("site", db, url=f"{site.base}/", allow=r"/sport/").returncode == 0
    assert paths(db, "articles", site.base) == SPORT


# --- sitemap --------------------------------------------------------------


def test_sitemap_index_with_news_and_gzipped_sitemaps_stores_their_articles(site, tmp_path):
    db = tmp_path / "sieve.db"
    assert crawl_web("sitemap", db, url=f"{site.base}/sitemap_index.xml").returncode == 0
    assert paths(db, "articles", site.base) == ALL_ARTICLES
    assert paths(db, "skipped", site.base) == {"/", "/news/", "/sport/"}


def test_sitemap_found_through_robots_txt(site, tmp_path):
    db = tmp_path / "sieve.db"
    assert crawl_web("sitemap", db, url=f"{site.base}/robots.txt").returncode == 0
    assert paths(db, "articles", site.base) == ALL_ARTICLES


def test_sitemap_since_leaves_out_older_entries(site, tmp_path):
    db = tmp_path / "sieve.db"
    assert crawl_web("sitemap", db, url=f"{site.base}/sitemap_index.xml", since="2024-03-05").returncode == 0
    recent = {s.path for s in STORIES if s.date >= "2024-03-05"}
    assert paths(db, "articles", site.base) == recent


def test_sitemap_since_must_be_a_date(site, tmp_path):
    result = crawl_web("sitemap", tmp_path / "sieve.db", url=f"{site.base}/sitemap_index.xml", since="last week")
    assert result.returncode == 2
    assert "since must be a date as YYYY-MM-DD" in result.stderr


# --- feed -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("feed", "expected"),
    [("/feeds/news.xml", NEWS), ("/feeds/sport.atom", SPORT), ("/feeds/all.rdf", ALL_ARTICLES)],
    ids=["rss", "atom", "rdf"],
)
def test_feed_items_are_fetched_and_stored(site, tmp_path, feed, expected):
    db = tmp_path / "sieve.db"
    assert crawl_web("feed", db, url=site.base + feed).returncode == 0
    assert paths(db, "articles", site.base) == expected


def test_feed_list_file_reads_every_feed(site, tmp_path):
    feeds = tmp_path / "feeds.txt"
    feeds.write_text(f"# our feeds\n{site.base}/feeds/news.xml\n\n{site.base}/feeds/sport.atom\nnot a feed url\n")
    db = tmp_path / "sieve.db"
    # The line that is no URL is a dead seed: the run reads the rest, then fails.
    assert crawl_web("feed", db, path=str(feeds)).returncode == 1
    assert paths(db, "articles", site.base) == NEWS | SPORT
    assert [tuple(r) for r in read_rows(db, "SELECT url, reason FROM skipped")] == [("not a feed url", "bad-url")]


def test_page_that_is_not_a_feed_is_skipped_as_bad_feed_and_fails_the_run(site, tmp_path):
    db = tmp_path / "sieve.db"
    assert crawl_web("feed", db, url=f"{site.base}/news/").returncode == 1
    assert [r["reason"] for r in read_rows(db, "SELECT reason FROM skipped")] == ["bad-feed"]
    assert read_rows(db, "SELECT status FROM runs")[0]["status"] == "failed"


# --- urls -------------------------------------------------------------------


def test_url_list_stores_pages_and_skips_what_it_cannot_use(site, tmp_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(
        f"# two stories\n{site.base}/news/council-approves-budget.html\n\n"
        f"{site.base}/sport/marathon-record.html\n{site.base}/download/annual-report\n"
        f"{site.base}/news/missing-story.html\nftp://example.invalid/file\n"
    )
    db = tmp_path / "sieve.db"
    assert crawl_web("urls", db, path=str(listing)).returncode == 0
    assert paths(db, "articles", site.base) == {"/news/council-approves-budget.html", "/sport/marathon-record.html"}
    skipped = {r["url"].removeprefix(site.base): r["reason"] for r in read_rows(db, "SELECT url, reason FROM skipped")}
    assert skipped == {"/download/annual-report": "unsupported-type", "/news/missing-story.html": "http-404", "ftp://example.invalid/file": "bad-url"}


def test_robots_txt_holds_for_every_request_that_waited_for_it(fresh_site, tmp_path):
    # Many requests to a host whose robots.txt is still being downloaded (Scrapy
    # 2.19's middleware gave the parser to the first of them only).
    fresh_site.delay = 0.2
    private = [f"/private/staff-notes.html?copy={n}" for n in range(6)]
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(f"{fresh_site.base}{path}\n" for path in [*private, "/news/library-reopens.html"]))
    db = tmp_path / "sieve.db"
    assert crawl_web("urls", db, path=str(listing)).returncode == 0
    assert not [p for p in fresh_site.paths_requested() if p.startswith("/private/")]
    assert {r["reason"] for r in read_rows(db, "SELECT reason FROM skipped")} == {"robots-denied"}
    assert len(read_rows(db, "SELECT url FROM skipped")) == len(private)


def test_url_list_from_standard_input(site, tmp_path):
    db = tmp_path / "sieve.db"
    command = [sys.executable, "-m", "scrapy", "crawl", "urls", "-a", "path=-", "-s", f"SIEVE_DB={db}"]
    for name, value in FAST_WEB.items():
        command += ["-s", f"{name}={value}"]
    result = subprocess.run(
        command, cwd=REPO, input=f"{site.base}/news/library-reopens.html\n", capture_output=True, text=True, timeout=120, env=os.environ
    )
    assert result.returncode == 0, result.stderr
    assert paths(db, "articles", site.base) == {"/news/library-reopens.html"}


@pytest.mark.parametrize("spider", ["site", "sitemap", "feed", "urls"])
def test_spider_without_its_arguments_is_a_one_line_error(spider, tmp_path):
    result = scrapy_crawl(spider, db=tmp_path / "sieve.db")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"scrapy crawl {spider}: ")
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("depth", ["-1", "two"])
def test_depth_that_is_not_zero_or_more_is_a_one_line_error(depth, tmp_path):
    result = scrapy_crawl("site", db=tmp_path / "sieve.db", args={"url": "https://news.example.org/", "depth": depth})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == f"scrapy crawl site: depth must be a whole number, 0 or more, not {depth!r}"


def test_not_polite_crawls_your_own_site_with_more_than_two_requests_at_once(fresh_site, tmp_path):
    fresh_site.delay = 0.2  # long enough for requests to overlap
    db = tmp_path / "sieve.db"
    settings = {"SIEVE_POLITE": "False", "SIEVE_CONTACT": "tests@sieve.invalid", "SIEVE_MAX_BYTES": "200000"}
    result = scrapy_crawl("site", db=db, args={"url": f"{fresh_site.base}/"}, settings=settings)
    assert result.returncode == 0, result.stderr
    assert fresh_site.max_in_flight > 2
    assert "/news/council-approves-budget.html" in paths(db, "articles", fresh_site.base)
    assert "/private/staff-notes.html" not in fresh_site.paths_requested()  # robots.txt still obeyed
