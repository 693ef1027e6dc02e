"""``scrapy crawl reclean``: the stored articles cleaned again from what
extraction gave them, with no download (crawler/spiders/reclean.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from tests.helpers import REPO, read_rows, scrapy_crawl

PATTERN = json.dumps(["The vote was .*"])
VOTE = "The vote was 7 to 2."


@pytest.fixture(scope="module")
def crawled(tmp_path_factory) -> Path:
    """The examples, crawled once; each test works on a copy."""
    db = tmp_path_factory.mktemp("reclean") / "sieve.db"
    result = scrapy_crawl("files", db=db, args={"path": str(REPO / "examples" / "articles")})
    assert result.returncode == 0, result.stderr
    return db


@pytest.fixture
def db(crawled, tmp_path) -> Path:
    copy = tmp_path / "sieve.db"
    shutil.copy(crawled, copy)
    return copy


def state(db: Path) -> tuple[list[tuple], list[tuple], list[tuple]]:
    articles = [tuple(r) for r in read_rows(db, "SELECT id, url, title, text, change_seq, last_seen FROM articles ORDER BY id")]
    removed = [tuple(r) for r in read_rows(db, "SELECT article_id, position, text, reason FROM removed ORDER BY article_id, position")]
    urls = [tuple(r) for r in read_rows(db, "SELECT * FROM article_urls ORDER BY url")]
    return articles, removed, urls


def test_unchanged_rules_leave_every_stored_article_as_it_was(db):
    before = state(db)
    result = scrapy_crawl("reclean", db=db)
    assert result.returncode == 0, result.stderr
    assert "0 new and 0 updated articles (0 of these near-duplicates), 5 unchanged" in result.stderr
    assert state(db) == before


def test_a_new_pattern_removes_its_paragraph_from_the_stored_article_with_a_new_change(db):
    [(last_change,)] = read_rows(db, "SELECT max(change_seq) FROM articles")
    result = scrapy_crawl("reclean", db=db, settings={"SIEVE_BOILERPLATE_PATTERNS": PATTERN})
    assert result.returncode == 0, result.stderr
    assert "0 new and 1 updated articles" in result.stderr
    [row] = read_rows(db, "SELECT id, text, change_seq FROM articles WHERE text LIKE '%Riverton%bus%'")
    assert VOTE not in row["text"]
    assert row["change_seq"] == last_change + 1
    [removal] = read_rows(db, "SELECT text FROM removed WHERE article_id = ? AND reason = 'pattern'", (row["id"],))
    assert removal["text"].startswith(VOTE)


def test_a_pattern_taken_away_brings_its_paragraph_back(db):
    scrapy_crawl("reclean", db=db, settings={"SIEVE_BOILERPLATE_PATTERNS": PATTERN})
    result = scrapy_crawl("reclean", db=db)
    assert "0 new and 1 updated articles" in result.stderr
    assert read_rows(db, "SELECT count(*) FROM articles WHERE text LIKE ?", (f"%{VOTE}%",))[0][0] == 1
    assert read_rows(db, "SELECT count(*) FROM removed WHERE reason = 'pattern'")[0][0] == 0


def test_plain_text_titles_come_back_where_they_were(db):
    before = read_rows(db, "SELECT id, title, text FROM articles WHERE url LIKE '%.txt' ORDER BY id")
    scrapy_crawl("reclean", db=db, settings={"SIEVE_BOILERPLATE_PATTERNS": PATTERN})
    assert [tuple(r) for r in read_rows(db, "SELECT id, title, text FROM articles WHERE url LIKE '%.txt' ORDER BY id")] == [
        tuple(r) for r in before
    ]


def test_reclean_without_a_database_is_one_line_and_exit_2(tmp_path):
    result = scrapy_crawl("reclean", db=tmp_path / "unused.db", settings={"SIEVE_DB": ""})
    assert result.returncode == 2
    assert "SIEVE_DB is empty" in result.stderr
    assert "Traceback" not in result.stderr
