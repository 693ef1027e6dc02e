"""``scrapy crawl files``: real crawls of local folders into real SQLite files."""

from __future__ import annotations

import gzip
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import FIXTURES, REPO, last_run_stats, read_rows, scrapy_crawl

ARTICLE = """Council passes the budget after a long night

Riverton's city council approved a budget on Tuesday night after a four-hour meeting that ran past midnight.

Transit director Helen Park said the new routes would run every twenty minutes during the day.

Property taxes will rise by one and a half percent, less than the finance department proposed.
"""
HTML = """<html lang="en"><head><title>Bridge closure extended</title></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a></nav>
<article><h1>Bridge closure extended through May</h1>
<p>The Main Street bridge will stay closed until the end of May while crews replace the steel bearings under its eastern span, the city said on Monday.</p>
<p>Engineers found more corrosion than expected when they lifted the deck in February, and the replacement parts had to be made to order by a foundry in Ohio.</p>
<p>Detours remain in place along Fourth Avenue, and the city has added a shuttle bus for pedestrians that runs every fifteen minutes during the day.</p>
</article><footer>Copyright 2024 The Riverton Gazette</footer></body></html>
"""
KOREAN = """새 버스 노선 발표

서울시는 화요일 새 버스 노선 열두 개를 발표했다. 첫 버스는 구월에 운행을 시작하며, 낮에는 이십 분마다, 저녁에는 사십 분마다 다닌다.

시 당국은 새 정류장 열두 곳에 쉼터를 추가하고, 노인과 장애인을 위한 저상 버스를 모든 노선에 배치할 예정이라고 밝혔다.
"""
MAX_BYTES = 50_000

GOOD = {
    "good.txt": ARTICLE.encode(),
    "good.html": HTML.encode(),
    "nested/good-too.html.gz": gzip.compress(HTML.replace("Bridge", "Tunnel").encode()),
    "latin1.txt": ARTICLE.replace("budget", "budget de crème brûlée").encode("latin-1"),
    "utf16.text": ARTICLE.encode("utf-16"),
    "korean-utf16-without-bom.txt": KOREAN.encode("utf-16-le"),
    "stray-nul.txt": ARTICLE.replace("midnight.", "midnight.\x00").encode(),
}
BAD = {
    "picture.html": (b"\x89PNG\r\n\x1a\n" + os.urandom(3000), "binary"),
    "noise.txt": (bytes(range(256)) * 20, "binary"),
    "empty.txt": (b"", "empty"),
    "blank.txt": (b" \n\n\t\n", "empty"),
    "only-boilerplate.txt": (b"Breaking News\n\nNo comments\n", "no-text"),
    "truncated.html.gz": (gzip.compress(HTML.encode() * 20)[:400], "truncated-gzip"),
    "report.pdf": (b"%PDF-1.7\n", "unsupported-type"),
    "huge.txt": (b"word " * (MAX_BYTES // 4), "too-large"),
    "bomb.txt.gz": (gzip.compress(b"word " * MAX_BYTES), "too-large"),
}


def build_folder(folder: Path) -> None:
    for name, data in {**GOOD, **{name: data for name, (data, _) in BAD.items()}}.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (folder / ".hidden.txt").write_bytes(ARTICLE.encode())


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory):
    """One crawl over a folder of good and broken files."""
    folder = tmp_path_factory.mktemp("mixed")
    build_folder(folder)
    db = folder.parent / "mixed.db"
    result = scrapy_crawl("files", db=db, args={"path": str(folder)}, settings={"SIEVE_MAX_BYTES": str(MAX_BYTES)})
    return folder, db, result


def urls(db: Path, table: str) -> set[str]:
    return {row[0] for row in read_rows(db, f"SELECT url FROM {table}")}


def test_run_with_broken_files_exits_zero(mixed_run):
    _, _, result = mixed_run
    assert result.returncode == 0, result.stderr


def test_every_file_is_either_stored_or_skipped_never_both(mixed_run):
    folder, db, _ = mixed_run
    stored, skipped = urls(db, "articles"), urls(db, "skipped")
    expected = {(folder / name).resolve().as_uri() for name in [*GOOD, *BAD]}
    assert stored | skipped == expected
    assert stored & skipped == set()


def test_good_files_are_stored(mixed_run):
    folder, db, _ = mixed_run
    assert urls(db, "articles") == {(folder / name).resolve().as_uri() for name in GOOD}


@pytest.mark.parametrize("name", sorted(BAD))
def test_broken_file_is_skipped_with_its_specific_reason(mixed_run, name):
    folder, db, _ = mixed_run
    rows = read_rows(db, "SELECT reason, detail FROM skipped WHERE url = ?", ((folder / name).resolve().as_uri(),))
    assert [r["reason"] for r in rows] == [BAD[name][1]]
    assert rows[0]["detail"]


def test_hidden_files_are_left_out(mixed_run):
    folder, db, _ = mixed_run
    hidden = (folder / ".hidden.txt").resolve().as_uri()
    assert hidden not in urls(db, "articles") | urls(db, "skipped")


def test_latin1_text_comes_out_right(mixed_run):
    _, db, _ = mixed_run
    [row] = read_rows(db, "SELECT text FROM articles WHERE url LIKE '%/latin1.txt'")
    assert "crème brûlée" in row["text"]


def test_utf16_text_is_read(mixed_run):
    _, db, _ = mixed_run
    [row] = read_rows(db, "SELECT title, text FROM articles WHERE url LIKE '%/utf16.text'")
    assert row["title"] == "Council passes the budget after a long night"
    assert row["text"].startswith("Riverton's city council")


def test_korean_text_in_utf16_without_bom_is_read(mixed_run):
    _, db, _ = mixed_run
    [row] = read_rows(db, "SELECT title, text FROM articles WHERE url LIKE '%/korean-utf16-without-bom.txt'")
    assert row["title"] == "새 버스 노선 발표"
    assert "서울시는 화요일 새 버스 노선 열두 개를 발표했다." in row["text"]


def test_no_nul_byte_reaches_sqlite(mixed_run):
    _, db, _ = mixed_run
    assert read_rows(db, "SELECT count(*) FROM articles WHERE instr(text, char(0)) > 0")[0][0] == 0
    [row] = read_rows(db, "SELECT text FROM articles WHERE url LIKE '%/stray-nul.txt'")
    assert "past midnight." in row["text"]


def test_html_source_is_the_parent_folder_when_no_canonical_url(mixed_run):
    _, db, _ = mixed_run
    [row] = read_rows(db, "SELECT source, title, text FROM articles WHERE url LIKE '%/nested/good-too.html.gz'")
    assert row["source"] == "nested"
    assert row["title"] == "Tunnel closure extended through May"
    assert "Copyright" not in row["text"] and "Home" not in row["text"]


def test_stats_at_close_carry_sieve_counters(mixed_run):
    _, db, _ = mixed_run
    stats = last_run_stats(db)
    assert (stats["sieve/articles_stored"], stats["sieve/skipped/binary"], stats["sieve/skipped/too-large"]) == (len(GOOD), 2, 2)


def test_run_row_records_spider_arguments_and_status(mixed_run):
    folder, db, _ = mixed_run
    [run] = read_rows(db, "SELECT * FROM runs")
    assert run["spider"] == "files"
    assert str(folder) in run["args"]
    assert run["status"] == "finished" and run["finished_at"] >= run["started_at"]
    assert f'"sieve/articles_stored": {len(GOOD)}' in run["stats"]


def test_full_text_search_finds_an_article(mixed_run):
    _, db, _ = mixed_run
    found = read_rows(db, "SELECT articles.url FROM articles_fts JOIN articles ON articles.id = articles_fts.rowid WHERE articles_fts MATCH 'foundry'")
    assert sorted(Path(r["url"]).name for r in found) == ["good-too.html.gz", "good.html"]


def test_database_passes_integrity_check(mixed_run):
    _, db, _ = mixed_run
    assert read_rows(db, "PRAGMA integrity_check")[0][0] == "ok"


def test_same_file_ingested_again_updates_its_row_in_place(tmp_path, db_path, crawl, rows):
    shutil.copy(FIXTURES / "seeds" / "000_257973ebbd4cd4c4.txt", tmp_path / "a.txt")
    assert crawl("files", args={"path": str(tmp_path / "a.txt")}).returncode == 0
    [first] = rows("SELECT * FROM articles")
    (tmp_path / "a.txt").write_text((tmp_path / "a.txt").read_text() + "\n\nA new closing paragraph was added by the editors later on.")
    assert crawl("files", args={"path": str(tmp_path / "a.txt")}).returncode == 0
    [second] = rows("SELECT * FROM articles")
    assert second["id"] == first["id"]
    assert second["first_seen"] == first["first_seen"]
    assert second["last_seen"] > first["last_seen"]
    assert second["text"].endswith("added by the editors later on.")
    assert second["run_id"] == 2
    # "No comments" is now in the middle; only "Breaking News" remains removed.
    assert [r["text"] for r in rows("SELECT text FROM removed")] == ["Breaking News"]


def test_file_broken_after_it_was_stored_keeps_its_stored_article(tmp_path, db_path, crawl, rows):
    good = tmp_path / "a.txt"
    good.write_text(ARTICLE)
    assert crawl("files", args={"path": str(good)}).returncode == 0
    [before] = rows("SELECT * FROM articles")
    good.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    assert crawl("files", args={"path": str(good)}).returncode == 0
    assert [dict(r) for r in rows("SELECT * FROM articles")] == [dict(before)]
    assert [r["reason"] for r in rows("SELECT reason FROM skipped")] == ["binary"]


def test_glob_limits_the_files_read(tmp_path, crawl, rows):
    build_folder(tmp_path / "in")
    assert crawl("files", args={"path": str(tmp_path / "in"), "glob": "*.html"}).returncode == 0
    assert {Path(r["url"]).name for r in rows("SELECT url FROM articles UNION SELECT url FROM skipped")} == {"good.html", "picture.html"}


def test_missing_path_is_a_one_line_error_and_exit_status_2(tmp_path, crawl, db_path):
    result = crawl("files", args={"path": str(tmp_path / "nowhere")})
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "nowhere" in line]
    assert errors == [f"scrapy crawl files: path does not exist: {tmp_path / 'nowhere'}"]
    assert "Traceback" not in result.stderr


def test_database_is_sieve_db_in_the_working_directory_by_default(tmp_path, seeds_dir):
    shutil.copytree(REPO, tmp_path / "repo", ignore=shutil.ignore_patterns("*.db", "*.db-*", ".git", "__pycache__"))
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "files", "-a", f"path={seeds_dir}"],
        cwd=tmp_path / "repo",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    conn = sqlite3.connect(tmp_path / "repo" / "sieve.db")
    assert conn.execute("SELECT count(*) FROM articles").fetchone()[0] == 2


def build_linked_folder(base: Path) -> Path:
    """A folder with links in every direction, and names that are not UTF-8."""
    folder, outside = base / "in", base / "outside"
    (folder / "real").mkdir(parents=True)
    outside.mkdir()
    (folder / "real" / "story.txt").write_text(ARTICLE)
    (outside / "secret.txt").write_text(ARTICLE.replace("Riverton", "Elsewhere"))
    (folder / "alias.txt").symlink_to(folder / "real" / "story.txt")
    (folder / "also-real").symlink_to(folder / "real")
    (folder / "real" / "round").symlink_to(folder)
    (folder / "secret.txt").symlink_to(outside / "secret.txt")
    (folder / "elsewhere").symlink_to(outside)
    (folder / "gone.txt").symlink_to(base / "missing.txt")
    latin1_folder = Path(os.fsdecode(bytes(folder / "caf")) + os.fsdecode(b"\xe9"))
    latin1_folder.mkdir()
    (latin1_folder / "menu.txt").write_text(ARTICLE.replace("budget", "menu"))
    Path(os.fsdecode(bytes(folder / "odd.ht")) + os.fsdecode(b"\xe9ml")).write_text(HTML)
    return folder


@pytest.fixture(scope="module")
def linked_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("linked")
    folder = build_linked_folder(base)
    result = scrapy_crawl("files", db=base / "linked.db", args={"path": str(folder)})
    return folder, base / "linked.db", result


def skipped_reasons(db: Path) -> dict[str, str]:
    return {Path(url).name: reason for url, reason in read_rows(db, "SELECT url, reason FROM skipped")}


def test_link_out_of_the_folder_is_skipped_unread(linked_run):
    folder, db, result = linked_run
    assert result.returncode == 0, result.stderr
    reasons = skipped_reasons(db)
    assert reasons["secret.txt"] == reasons["elsewhere"] == "link-outside"
    assert not read_rows(db, "SELECT url FROM fetches WHERE url LIKE '%/outside/%'")
    assert not read_rows(db, "SELECT url FROM articles WHERE text LIKE '%Elsewhere%'")


def test_link_round_in_a_loop_is_skipped(linked_run):
    _, db, _ = linked_run
    assert skipped_reasons(db)["round"] == "link-loop"


def test_broken_link_is_skipped(linked_run):
    _, db, _ = linked_run
    assert skipped_reasons(db)["gone.txt"] == "broken-link"


def test_file_reached_through_links_inside_the_folder_is_read_once(linked_run):
    folder, db, _ = linked_run
    stories = read_rows(db, "SELECT url FROM articles WHERE text LIKE '%Riverton%budget%'")
    assert [row[0] for row in stories] == [(folder / "real" / "story.txt").as_uri()]


def test_names_that_are_not_utf8_are_read_and_recorded(linked_run):
    folder, db, result = linked_run
    assert "UnicodeEncodeError" not in result.stderr
    [menu] = read_rows(db, "SELECT url, source FROM articles WHERE text LIKE '%menu%'")
    assert menu["url"] == folder.as_uri() + "/caf%E9/menu.txt"
    assert menu["source"] == "caf\\xe9"
    [odd] = read_rows(db, "SELECT reason, detail FROM skipped WHERE url LIKE '%/odd.ht%E9ml'")
    assert (odd["reason"], odd["detail"]) == ("unsupported-type", ".ht\\xe9ml is not a text or HTML file")


def test_links_out_are_read_with_follow_links(tmp_path, crawl, rows):
    folder = build_linked_folder(tmp_path)
    result = crawl("files", args={"path": str(folder)}, settings={"SIEVE_FILES_FOLLOW_LINKS": "True"})
    assert result.returncode == 0, result.stderr
    assert [row[0] for row in rows("SELECT url FROM articles WHERE text LIKE '%Elsewhere%'")] == [
        (tmp_path / "outside" / "secret.txt").as_uri()
    ]
    assert {row[0] for row in rows("SELECT reason FROM skipped")} == {"link-loop", "broken-link", "unsupported-type"}


def test_folder_that_cannot_be_listed_is_recorded_and_the_walk_goes_on(tmp_path, monkeypatch):
    from scrapy.utils.test import get_crawler

    from crawler.items import Skipped
    from crawler.spiders.files import FilesSpider, LocalFile

    (tmp_path / "a-locked").mkdir()
    (tmp_path / "b-open").mkdir()
    (tmp_path / "b-open" / "story.txt").write_text(ARTICLE)
    real_scandir = os.scandir

    def scandir(path):
        # Root may list any folder, whatever its mode: refuse as the kernel would.
        if Path(path).name == "a-locked":
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    spider = FilesSpider.from_crawler(get_crawler(FilesSpider), path=str(tmp_path))
    found = list(spider.files())
    story = tmp_path / "b-open" / "story.txt"
    assert found == [
        Skipped((tmp_path / "a-locked").as_uri(), "unreadable-folder", "cannot list it: Permission denied"),
        LocalFile(story, story.resolve().as_uri()),
    ]


def test_url_of_each_file_walked_is_that_of_the_file_with_its_links_resolved(tmp_path):
    from scrapy.utils.test import get_crawler

    from crawler.items import Skipped
    from crawler.spiders.files import FilesSpider, url_of

    root = tmp_path / "articles"
    (root / "real").mkdir(parents=True)
    (root / "real" / "story.txt").write_text("A story.")
    (root / "linked-folder").symlink_to(root / "real" / ".." / "real")
    (root / "real" / "linked.txt").symlink_to(root / "real" / "story.txt")
    spider = FilesSpider.from_crawler(get_crawler(FilesSpider), path=str(root))
    found = [f for f in spider.files() if not isinstance(f, Skipped)]
    assert [f.url for f in found] == [url_of(f.path) for f in found] == [(root / "real" / "story.txt").resolve().as_uri()]
