"""What downstream readers get: Scrapy's feed exports (-o) write one clean
record per stored article, the record `scrapy export` writes."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from crawler.storage.reads import RECORD_FIELDS as FIELDS
from tests.helpers import FAST_WEB, REPO, crawl_command, read_rows, scrapy_crawl, write_articles


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """The examples crawled once with a -o feed in each format."""
    folder = tmp_path_factory.mktemp("feeds")
    outputs = {fmt: folder / f"articles.{fmt}" for fmt in ("jsonl", "json", "csv", "xml")}
    command = crawl_command("files", folder / "sieve.db", {"path": str(REPO / "examples" / "articles")}, {"SIEVE_WORKERS": "0"})
    for path in outputs.values():
        command += ["-O", str(path)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return folder / "sieve.db", outputs


def records(fmt: str, path: Path) -> list[dict]:
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    if fmt == "json":
        return json.loads(path.read_text())
    if fmt == "csv":
        with path.open(newline="") as stream:
            return [{**row, "paragraphs": json.loads(row["paragraphs"])} for row in csv.DictReader(stream)]
    return [{child.tag: child.text for child in item} for item in ET.parse(path).getroot()]


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "xml"])
def test_feed_export_has_one_record_per_stored_article(exported, fmt):
    db, outputs = exported
    urls = {row["url"] for row in read_rows(db, "SELECT url FROM articles")}
    assert sorted(record["url"] for record in records(fmt, outputs[fmt])) == sorted(urls)


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "xml"])
def test_feed_export_records_carry_the_export_fields_and_nothing_internal(exported, fmt):
    _, outputs = exported
    for record in records(fmt, outputs[fmt]):
        assert list(record) == FIELDS


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_feed_export_text_and_paragraphs_are_the_stored_ones(exported, fmt):
    db, outputs = exported
    stored = {row["url"]: row["text"] for row in read_rows(db, "SELECT url, text FROM articles")}
    for record in records(fmt, outputs[fmt]):
        assert record["text"] == stored[record["url"]]
        assert record["paragraphs"] == stored[record["url"]].split("\n\n")


def test_crawl_without_a_database_gives_the_same_records_and_keeps_nothing(exported, tmp_path):
    _, outputs = exported
    articles = tmp_path / "articles"
    shutil.copytree(REPO / "examples" / "articles", articles)
    # A copy of one example under another name, read last: in-run dedup links it.
    (articles / "zz-copy.txt").write_bytes(next(articles.glob("000_*.txt")).read_bytes())
    command = [*crawl_command("files", tmp_path / "unused.db", {"path": str(articles)}), "-s", "SIEVE_DB=", "-O", str(tmp_path / "nodb.jsonl")]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr and "run without a database finished: 6 new" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["articles", "nodb.jsonl"]
    moments = ("first_seen", "changed_at", "url", "urls")
    without = [{k: v for k, v in r.items() if k not in moments} for r in records("jsonl", tmp_path / "nodb.jsonl")]
    with_db = [{k: v for k, v in r.items() if k not in moments} for r in records("jsonl", outputs["jsonl"])]
    *originals, copy = without
    assert originals == with_db
    assert copy["duplicate_of"] == next(r["id"] for r in with_db if r["text"] == copy["text"])


def test_skipped_documents_are_not_exported(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "good.txt").write_text((REPO / "examples" / "articles" / "000_257973ebbd4cd4c4.txt").read_text())
    (tmp_path / "in" / "empty.txt").write_text("   \n")
    command = crawl_command("files", tmp_path / "sieve.db", {"path": str(tmp_path / "in")}, {"SIEVE_WORKERS": "0"})
    result = subprocess.run([*command, "-O", str(tmp_path / "out.jsonl")], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    exported = [json.loads(line)["url"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert exported == [(tmp_path / "in" / "good.txt").as_uri()]
    assert read_rows(tmp_path / "sieve.db", "SELECT reason FROM skipped")[0]["reason"] == "empty"


# --- dead seeds fail a scheduled run -------------------------------------------------


@pytest.mark.parametrize(
    ("spider", "seed", "reason"),
    [
        ("site", "http://127.0.0.1:9/", "network-error"),
        ("feed", "{base}/news/missing-feed.xml", "http-404"),
        ("feed", "{base}/news/", "bad-feed"),
        ("sitemap", "{base}/about/", "bad-sitemap"),
    ],
    ids=["unreachable-site", "feed-404", "not-a-feed", "not-a-sitemap"],
)
def test_dead_seed_is_recorded_and_fails_the_run(site, tmp_path, spider, seed, reason):
    url = seed.format(base=site.base)
    db = tmp_path / "sieve.db"
    result = scrapy_crawl(spider, db=db, args={"url": url}, settings={**FAST_WEB, "RETRY_ENABLED": "False"})
    assert result.returncode == 1
    [row] = read_rows(db, "SELECT url, reason, detail FROM skipped")
    assert (row["url"], row["reason"]) == (url, reason)
    assert row["detail"].startswith("seed of this run: ")
    [run] = read_rows(db, "SELECT status, stats FROM runs")
    assert run["status"] == "failed" and json.loads(run["stats"])["sieve/seeds/dead"] == 1


def test_run_that_finds_nothing_changed_exits_zero(site, tmp_path):
    db = tmp_path / "sieve.db"
    for _ in range(2):
        result = scrapy_crawl("feed", db=db, args={"url": f"{site.base}/feeds/news.xml"}, settings=FAST_WEB)
        assert result.returncode == 0, result.stderr
    stats = json.loads(read_rows(db, "SELECT stats FROM runs WHERE id = 2")[0]["stats"])
    assert "sieve/articles_stored" not in stats and stats.get("sieve/seeds/dead") is None


# --- settings, arguments and export options: one line, exit 2 -------------------------


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("SIEVE_MAX_BYTES", "10MB", "SIEVE_MAX_BYTES takes a whole number, not '10MB'"),
        ("SIEVE_WORKERS", "abc", "SIEVE_WORKERS takes a whole number (or empty), not 'abc'"),
        ("SIEVE_NEAR_DUP_THRESHOLD", "1.5", "SIEVE_NEAR_DUP_THRESHOLD takes a number above 0 and at most 1, not '1.5'"),
        ("SIEVE_NEAR_DUP_CONTAINMENT", "1.2", "SIEVE_NEAR_DUP_CONTAINMENT takes a number of at least 0 and at most 1, not '1.2'"),
        ("SIEVE_NEAR_DUP_MIN_WORDS", "0", "SIEVE_NEAR_DUP_MIN_WORDS takes a whole number of at least 1, not '0'"),
        ("SIEVE_INCREMENTAL", "maybe", "SIEVE_INCREMENTAL takes True or False, not 'maybe'"),
        ("SIEVE_INCREMENTAL", "yes", "SIEVE_INCREMENTAL takes True or False, not 'yes'"),  # Scrapy's getbool would fail on it
        ("SIEVE_MAX_BYTE", "5", "SIEVE_MAX_BYTE is not a Sieve setting (see docs/settings.md)"),
        ("DOWNLOAD_DELAY", "abc", "DOWNLOAD_DELAY takes a number, not 'abc'"),
        ("CONCURRENT_REQUESTS", "many", "CONCURRENT_REQUESTS takes a number, not 'many'"),
        ("ROBOTSTXT_OBEY", "maybe", "ROBOTSTXT_OBEY takes True or False, not 'maybe'"),
    ],
)
def test_wrong_setting_is_one_line_naming_it_and_exit_status_2(tmp_path, setting, value, message):
    result = scrapy_crawl("files", db=tmp_path / "sieve.db", args={"path": str(tmp_path)}, settings={setting: value})
    assert result.returncode == 2
    # Checked before anything is built: nothing else is logged.
    assert result.stderr.strip().splitlines() == [f"scrapy crawl files: {message}"]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "sieve.db").exists()


def test_unknown_spider_argument_is_one_line_and_exit_status_2(tmp_path):
    result = scrapy_crawl("files", db=tmp_path / "sieve.db", args={"path": str(tmp_path), "glb": "*.txt"})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "scrapy crawl files: unknown argument glb (the files spider takes: path, glob)"


def test_boilerplate_pattern_with_a_comma_is_one_pattern(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.txt").write_text(
        "Harbour reopens after repairs\n\nThe harbour reopened on Saturday after repairs to the sea wall, and the ferry "
        "resumed its crossings.\n\nSubscribe now, for free.\n\nThe mayor thanked the crews who worked through the winter.\n"
    )
    db = tmp_path / "sieve.db"
    result = scrapy_crawl("files", db=db, args={"path": str(tmp_path / "in")}, settings={"SIEVE_BOILERPLATE_PATTERNS": '["subscribe now, for free\\\\."]'})
    assert result.returncode == 0, result.stderr
    assert [r["text"] for r in read_rows(db, "SELECT text FROM removed WHERE reason = 'pattern'")] == ["Subscribe now, for free."]


def export(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "scrapy", "export", *args, "-s", f"SIEVE_DB={db}"], cwd=REPO, capture_output=True, text=True, timeout=60)


def test_export_to_a_csv_file_writes_csv(exported, tmp_path):
    db, _ = exported
    result = export(db, "-o", str(tmp_path / "out.csv"))
    assert result.returncode == 0, result.stderr
    with (tmp_path / "out.csv").open(newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert list(rows[0]) == FIELDS and len(rows) == len(read_rows(db, "SELECT id FROM clean_articles"))


def test_export_since_a_bare_number_points_to_since_run(exported):
    db, _ = exported
    result = export(db, "--since", "2024")
    assert result.returncode == 2
    assert "use --since-run 2024" in result.stderr


def test_export_since_a_run_that_does_not_exist_says_so(exported):
    db, _ = exported
    result = export(db, "--since-run", "7")
    assert result.returncode == 2
    assert "--since-run 7: there is no such run (the last is 1)" in result.stderr


def test_export_since_a_time_after_every_change_says_nothing_matches(exported):
    db, _ = exported
    result = export(db, "--since", "2999-01-01")
    assert result.returncode == 0 and result.stdout == ""
    assert "no article matches" in result.stderr


# --- the change sequence: a polling reader misses nothing ------------------------------

PLUG = (
    "Sign up for the Harbourside Gazette morning briefing to receive the most important local stories, "
    "weather warnings and road closures in your inbox before seven o'clock every weekday."
)


def poll(db: Path, cursor: Path, state: dict[int, dict], seen: set[int]) -> int:
    """One `scrapy export --cursor-file` as a downstream reader runs it,
    applied to the reader's copy; how many records it brought."""
    result = export(db, "--cursor-file", str(cursor))
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    for record in records:
        assert record["change_seq"] not in seen  # never twice
        seen.add(record["change_seq"])
        if record["duplicate_of"] is None:
            state[record["id"]] = record
        else:
            state.pop(record["id"], None)
    return len(records)


def test_reader_polling_while_two_crawls_write_ends_with_every_change(tmp_path):
    gazette = write_articles(tmp_path / "one" / "gazette", 40, seed=7)
    for path in gazette:  # the site's plug in every article: found as boilerplate, then removed from the earlier ones
        title, *body = path.read_text().split("\n\n")
        path.write_text("\n\n".join([title, body[0], PLUG, *body[1:]]))
    write_articles(tmp_path / "two" / "wire", 40, seed=8)
    for n, path in enumerate(gazette[:10]):  # wire copies of gazette stories: near-duplicates
        (tmp_path / "two" / "wire" / f"copy-{n}.txt").write_text(path.read_text().replace(PLUG, ""))
    db, cursor = tmp_path / "sieve.db", tmp_path / "reader.cursor"
    assert scrapy_crawl("files", db=db, args={"path": str(tmp_path / "one" / "gazette" / "article-7-0000.txt")}).returncode == 0
    settings = {"SIEVE_WORKERS": "0", "SIEVE_STORE_BATCH": "3", "DOWNLOAD_DELAY": "0.05"}
    crawls = [
        subprocess.Popen(crawl_command("files", db, {"path": str(tmp_path / folder)}, settings), cwd=REPO, stderr=subprocess.DEVNULL)
        for folder in ("one", "two")
    ]
    state: dict[int, dict] = {}
    seen: set[int] = set()
    polls_with_news = 0
    while any(crawl.poll() is None for crawl in crawls):
        polls_with_news += poll(db, cursor, state, seen) > 0
    assert [crawl.wait(timeout=120) for crawl in crawls] == [0, 0]
    poll(db, cursor, state, seen)

    final = {row["id"]: row["text"] for row in read_rows(db, "SELECT id, text FROM clean_articles")}
    assert {article_id: record["text"] for article_id, record in state.items()} == final
    assert polls_with_news >= 2  # the reader really read while the crawls wrote
    assert int(cursor.read_text()) == max(seen) == read_rows(db, "SELECT max(change_seq) FROM articles")[0][0]
    rewritten = read_rows(db, "SELECT count(*) FROM removed WHERE reason = 'site-boilerplate' AND article_id < 3")[0][0]
    assert rewritten >= 1  # earlier articles were rewritten retroactively, and the reader has their new text
    assert read_rows(db, "SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL")[0][0] >= 5


# --- one article, one row ---------------------------------------------------------


def test_one_article_under_several_urls_is_one_row(site, tmp_path):
    from tests.fixture_site import AMP_STORY

    story = f"{site.base}{AMP_STORY.path}"
    (tmp_path / "urls.txt").write_text(
        f"{story}?utm_source=rss&utm_medium=feed\n{story}?fbclid=IwAR0abc\n{site.base}/amp{AMP_STORY.path}\n"
    )
    db = tmp_path / "sieve.db"
    result = scrapy_crawl("urls", db=db, args={"path": str(tmp_path / "urls.txt")}, settings=FAST_WEB)
    assert result.returncode == 0, result.stderr
    assert [tuple(row) for row in read_rows(db, "SELECT url, duplicate_of FROM articles")] == [(story, None)]
    assert read_rows(db, "SELECT count(*) FROM skipped")[0][0] == 0
    assert "utm_source" not in "".join(site.paths_requested())


def test_canonical_on_another_site_does_not_become_the_key(site, tmp_path):
    from tests.fixture_site import STORIES

    story = next(s for s in STORIES if s.canonical)
    (tmp_path / "urls.txt").write_text(f"{site.base}{story.path}\n")
    db = tmp_path / "sieve.db"
    assert scrapy_crawl("urls", db=db, args={"path": str(tmp_path / "urls.txt")}, settings=FAST_WEB).returncode == 0
    assert [row["url"] for row in read_rows(db, "SELECT url FROM articles")] == [f"{site.base}{story.path}"]


@pytest.mark.parametrize("mark", ["100000000000000000000", "99999999999999999999999999"])
def test_cursor_file_holding_a_number_sqlite_cannot_hold_is_one_line_and_exit_2(exported, tmp_path, mark):
    db, _ = exported
    (tmp_path / "reader.cursor").write_text(f"{mark}\n")
    result = export(db, "--cursor-file", str(tmp_path / "reader.cursor"))
    assert result.returncode == 2
    assert "not a change number" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("option", ["--cursor-file", "--after"])
def test_mark_beyond_the_last_change_says_the_database_is_another_one(exported, tmp_path, option):
    db, _ = exported
    (tmp_path / "reader.cursor").write_text("5000\n")
    value = str(tmp_path / "reader.cursor") if option == "--cursor-file" else "5000"
    result = export(db, option, value)
    assert result.returncode == 2
    assert "beyond the last change of this database" in result.stderr
    assert result.stdout == ""


def test_export_to_a_read_only_file_system_is_one_line_naming_the_option(tmp_path, monkeypatch):
    import errno
    import os

    from scrapy.exceptions import UsageError

    from crawler.commands import export

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    # As on a read-only mount: neither creating the partial file nor
    # removing it (even when it does not exist) is allowed.
    monkeypatch.setattr(Path, "open", read_only)
    monkeypatch.setattr(os, "unlink", read_only)
    with pytest.raises(UsageError, match=r"^-o .*out\.jsonl: cannot write it: Read-only file system$"):
        with export.atomic_file(str(tmp_path / "out.jsonl"), "-o"):
            pass
