"""Cross-document dedup: near-duplicate articles and site boilerplate,
across the articles of one run and across runs, through real crawls."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from crawler.storage import schema as database
from tests.fixture_site import STORIES
from tests.helpers import read_rows, scrapy_crawl

NEWSLETTER = "Sign up for our newsletter to get the top stories from Riverton delivered to your inbox every morning."
FOLLOW = "Follow us on Mastodon"
QUOTE = '"We are spending money we will not have next year, and I cannot vote for that," councillor Dana Whitfield said.'


def write_article(path: Path, title: str, paragraphs: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n\n".join([title, *paragraphs]) + "\n")


def gazette_paragraphs(story, with_quote: bool = False) -> list[str]:
    """A story as the gazette prints it: its in-body newsletter plug and
    social line after the second paragraph."""
    paragraphs = list(story.paragraphs)
    paragraphs[2:2] = [NEWSLETTER, FOLLOW]
    if with_quote:
        paragraphs.insert(1, QUOTE)
    return paragraphs


def syndicated(story) -> list[str]:
    """A wire copy: a few words changed, nothing else."""
    paragraphs = list(story.paragraphs)
    paragraphs[0] = paragraphs[0].replace("on Saturday", "last Saturday")
    paragraphs[-1] = paragraphs[-1].replace("by hand", "entirely by hand")
    return paragraphs


def build_corpus(folder: Path, order: list[int]) -> None:
    """Five gazette stories (two of them quote the same councillor) and a
    wire copy of the library story, written so that the files spider reads
    them in ``order``."""
    pieces = [
        ("gazette", STORIES[i].title, gazette_paragraphs(STORIES[i], with_quote=i in (0, 1))) for i in range(5)
    ]
    pieces.append(("wire", STORIES[2].title + " (wire)", syndicated(STORIES[2])))
    for rank, piece in zip(order, pieces, strict=True):
        source, title, paragraphs = piece
        write_article(folder / source / f"{rank:02d}.txt", title, paragraphs)


def crawl_folder(folder: Path, db: Path) -> None:
    result = scrapy_crawl("files", db=db, args={"path": str(folder)})
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def corpus_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("corpus")
    build_corpus(folder / "in", order=[0, 1, 2, 3, 4, 5])
    crawl_folder(folder / "in", folder / "sieve.db")
    return folder / "sieve.db"


def test_wire_copy_is_a_near_duplicate_of_the_original(corpus_db):
    [original] = read_rows(corpus_db, "SELECT id FROM articles WHERE source = 'gazette' AND title = ?", (STORIES[2].title,))
    [copy] = read_rows(corpus_db, "SELECT duplicate_of, text FROM articles WHERE source = 'wire'")
    assert copy["duplicate_of"] == original["id"]
    assert "entirely by hand" in copy["text"]


def test_clean_articles_view_leaves_out_duplicates(corpus_db):
    assert read_rows(corpus_db, "SELECT count(*) FROM clean_articles")[0][0] == 5
    assert read_rows(corpus_db, "SELECT count(*) FROM clean_articles WHERE source = 'wire'")[0][0] == 0


def test_articles_that_are_not_copies_are_not_duplicates(corpus_db):
    assert read_rows(corpus_db, "SELECT count(*) FROM articles WHERE source = 'gazette' AND duplicate_of IS NOT NULL")[0][0] == 0


@pytest.mark.parametrize("boilerplate", [NEWSLETTER, FOLLOW], ids=["long-plug", "short-line"])
def test_site_boilerplate_is_removed_from_every_article_of_the_source(corpus_db, boilerplate):
    texts = [r["text"] for r in read_rows(corpus_db, "SELECT text FROM articles WHERE source = 'gazette'")]
    assert len(texts) == 5
    assert not any(boilerplate in text for text in texts)
    removals = read_rows(corpus_db, "SELECT article_id, match_article_id FROM removed WHERE reason = 'site-boilerplate' AND text = ?", (boilerplate,))
    assert len({r["article_id"] for r in removals}) == 5
    assert all(r["match_article_id"] not in (None, r["article_id"]) for r in removals)


def test_quote_shared_by_two_articles_stays(corpus_db):
    assert read_rows(corpus_db, "SELECT count(*) FROM articles WHERE instr(text, ?) > 0", (QUOTE,))[0][0] == 2


def test_site_boilerplate_is_recorded_once_per_paragraph(corpus_db):
    rows = read_rows(corpus_db, "SELECT source, text FROM site_boilerplate ORDER BY text")
    assert [(r["source"], r["text"]) for r in rows] == [("gazette", FOLLOW), ("gazette", NEWSLETTER)]


def test_same_pages_in_another_order_give_the_same_result(tmp_path, corpus_db):
    build_corpus(tmp_path / "in", order=[5, 3, 1, 4, 0, 2])
    crawl_folder(tmp_path / "in", tmp_path / "sieve.db")

    def outcome(db: Path):
        return (
            sorted(r["text"] for r in read_rows(db, "SELECT text FROM articles")),
            read_rows(db, "SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL")[0][0],
        )

    assert outcome(tmp_path / "sieve.db") == outcome(corpus_db)


def test_second_run_finds_duplicates_of_the_first_runs_articles(tmp_path, db_path):
    write_article(tmp_path / "one" / "gazette" / "library.txt", STORIES[2].title, STORIES[2].paragraphs)
    crawl_folder(tmp_path / "one", db_path)
    write_article(tmp_path / "two" / "wire" / "library.txt", STORIES[2].title, syndicated(STORIES[2]))
    crawl_folder(tmp_path / "two", db_path)
    rows = read_rows(db_path, "SELECT id, run_id, duplicate_of FROM articles ORDER BY id")
    assert [(r["id"], r["run_id"], r["duplicate_of"]) for r in rows] == [(1, 1, None), (2, 2, 1)]


def test_fetching_the_same_url_again_never_makes_it_its_own_duplicate(tmp_path, db_path):
    story = tmp_path / "in" / "gazette" / "library.txt"
    write_article(story, STORIES[2].title, STORIES[2].paragraphs)
    crawl_folder(tmp_path / "in", db_path)
    crawl_folder(tmp_path / "in", db_path)
    write_article(story, STORIES[2].title, syndicated(STORIES[2]))
    crawl_folder(tmp_path / "in", db_path)
    [row] = read_rows(db_path, "SELECT id, duplicate_of, text FROM articles")
    assert (row["id"], row["duplicate_of"]) == (1, None)
    assert "entirely by hand" in row["text"]


def test_boilerplate_found_later_is_removed_from_earlier_articles(tmp_path, db_path):
    for i in (0, 1):
        write_article(tmp_path / "one" / "gazette" / f"{i}.txt", STORIES[i].title, gazette_paragraphs(STORIES[i]))
    crawl_folder(tmp_path / "one", db_path)
    assert read_rows(db_path, "SELECT count(*) FROM articles WHERE instr(text, ?) > 0", (NEWSLETTER,))[0][0] == 2

    write_article(tmp_path / "two" / "gazette" / "3.txt", STORIES[3].title, gazette_paragraphs(STORIES[3]))
    crawl_folder(tmp_path / "two", db_path)
    assert read_rows(db_path, "SELECT count(*) FROM articles WHERE instr(text, ?) > 0", (NEWSLETTER,))[0][0] == 0
    earlier = read_rows(
        db_path,
        "SELECT article_id, match_article_id FROM removed WHERE text = ? AND article_id IN (1, 2) ORDER BY article_id",
        (NEWSLETTER,),
    )
    assert [(r["article_id"], r["match_article_id"]) for r in earlier] == [(1, 3), (2, 3)]
    [first] = read_rows(db_path, "SELECT text FROM articles WHERE id = 1")
    assert first["text"] == "\n\n".join(STORIES[0].paragraphs)


def test_version_1_database_is_migrated_and_its_articles_indexed(tmp_path, db_path):
    conn = sqlite3.connect(db_path)
    old = sqlite_utils.Database(conn)
    database.MIGRATIONS[0](old)
    old.execute("PRAGMA user_version = 1")
    old["articles"].insert(
        {"url": "file:///old/library.txt", "source": "gazette", "title": STORIES[2].title, "text": "\n\n".join(STORIES[2].paragraphs),
         "content_hash": "x", "first_seen": "2024-01-01T00:00:00.000Z", "last_seen": "2024-01-01T00:00:00.000Z"}
    )
    conn.commit()
    conn.close()

    write_article(tmp_path / "in" / "wire" / "library.txt", STORIES[2].title, syndicated(STORIES[2]))
    crawl_folder(tmp_path / "in", db_path)
    assert read_rows(db_path, "PRAGMA user_version")[0][0] == len(database.MIGRATIONS)
    assert read_rows(db_path, "SELECT count(*) FROM paragraphs WHERE article_id = 1")[0][0] == 4
    assert read_rows(db_path, "SELECT duplicate_of FROM articles WHERE id = 2")[0][0] == 1
