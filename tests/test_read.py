"""crawler/read.py: the records scrapy export writes, from Python, and
following changes with a cursor file."""

from __future__ import annotations

import json
import shutil

import pytest

from crawler import read
from tests.helpers import REPO, scrapy_command, scrapy_crawl, write_articles


@pytest.fixture(scope="module")
def crawled(tmp_path_factory):
    folder = tmp_path_factory.mktemp("read")
    shutil.copytree(REPO / "examples" / "articles", folder / "in")
    db = folder / "sieve.db"
    assert scrapy_crawl("files", db=db, args={"path": str(folder / "in")}, settings={"SIEVE_WORKERS": "0"}).returncode == 0
    return db


def test_articles_are_the_records_scrapy_export_writes(crawled):
    exported = [json.loads(line) for line in scrapy_command("export", db=crawled).stdout.splitlines()]
    assert list(read.articles(crawled)) == exported and len(exported) == 5


def test_articles_since_a_time_after_every_change_are_none(crawled):
    assert list(read.articles(crawled, since="2999-01-01")) == []
    assert len(list(read.articles(crawled, since="2000-01-01T00:00:00+02:00"))) == 5


def test_articles_since_a_run_that_does_not_exist_is_refused(crawled):
    with pytest.raises(read.NoSuchRun, match="there is no run 9 \\(the last is 1\\)"):
        read.articles(crawled, since_run=9)


def test_changes_after_a_mark_beyond_the_last_is_refused(crawled):
    with pytest.raises(read.MarkBeyondLastChange, match="beyond the last change of this database \\(5\\)"):
        read.changes(crawled, after=6)


def test_missing_database_is_refused_and_not_created(tmp_path):
    with pytest.raises(read.ReadError, match="no database at"):
        read.articles(tmp_path / "none.db")
    assert not (tmp_path / "none.db").exists()


def test_follow_gives_each_change_once_across_calls(tmp_path):
    db, cursor = tmp_path / "sieve.db", tmp_path / "reader.cursor"
    write_articles(tmp_path / "in", 3, seed=5)
    assert scrapy_crawl("files", db=db, args={"path": str(tmp_path / "in")}, settings={"SIEVE_WORKERS": "0"}).returncode == 0
    first = [r["id"] for r in read.follow(db, cursor)]
    assert first == [1, 2, 3] and cursor.read_text() == "3\n"
    assert list(read.follow(db, cursor)) == []
    write_articles(tmp_path / "in", 5, seed=5)  # two more
    assert scrapy_crawl("files", db=db, args={"path": str(tmp_path / "in")}, settings={"SIEVE_WORKERS": "0"}).returncode == 0
    assert [r["id"] for r in read.follow(db, cursor)] == [4, 5]


def test_follow_stopped_midway_gives_again_only_the_record_not_yet_handled(crawled, tmp_path):
    cursor = tmp_path / "reader.cursor"
    records = read.follow(crawled, cursor)
    assert [next(records)["change_seq"], next(records)["change_seq"]] == [1, 2]
    records.close()  # the reader stops while handling change 2
    assert cursor.read_text() == "1\n"
    assert [r["change_seq"] for r in read.follow(crawled, cursor)] == [2, 3, 4, 5]


def test_cursor_holding_something_else_is_refused(crawled, tmp_path):
    (tmp_path / "reader.cursor").write_text("yesterday\n")
    with pytest.raises(read.ReadError, match="not a change number"):
        next(read.follow(crawled, tmp_path / "reader.cursor"))
