"""Hostile input: what fetched content must not make Sieve do, each refusal
recorded with its reason; a database that cannot be written fails the run;
databases and arguments that are not Sieve's are refused in one line.
Crawls run against tests/hostile_site.py, served on 127.0.0.1."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import FAST_WEB, REPO, crawl_command, read_rows, scrapy_command, scrapy_crawl, write_articles

SECRET = "/only-named-in-a-local-file.html"


@pytest.fixture(scope="module")
def local_sitemap(tmp_path_factory) -> Path:
    """A sitemap on the local disk, naming a URL nothing else names."""
    path = tmp_path_factory.mktemp("local") / "sitemap.xml"
    path.write_text("<urlset><url><loc>http://127.0.0.1:9/x</loc></url></urlset>")
    return path


@pytest.fixture(scope="module")
def hostile(local_sitemap):
    from tests.hostile_site import HostileServer

    server = HostileServer(local_sitemap.as_uri())
    # The local sitemap names a URL of this very server, so a fetch of it would show in the log.
    local_sitemap.write_text(f"<urlset><url><loc>{server.base}{SECRET}</loc></url></urlset>")
    server.start()
    yield server
    server.stop()


def crawl(spider: str, db: Path, settings: dict[str, str] | None = None, **args: str) -> subprocess.CompletedProcess[str]:
    return scrapy_crawl(spider, db=db, args=args, settings={**FAST_WEB, **(settings or {})})


def skipped(db: Path) -> dict[str, tuple[str, str]]:
    return {row["url"]: (row["reason"], row["detail"]) for row in read_rows(db, "SELECT url, reason, detail FROM skipped")}


def run_stats(db: Path) -> dict:
    return json.loads(read_rows(db, "SELECT stats FROM runs ORDER BY id DESC LIMIT 1")[0]["stats"])


# --- 1. remote content never names local files ------------------------------------


def test_remote_sitemap_index_listing_local_files_reads_none_of_them(hostile, local_sitemap, db_path):
    result = crawl("sitemap", db_path, url=f"{hostile.base}/file-index.xml")
    assert result.returncode == 0, result.stderr
    assert hostile.requested(SECRET) == []
    reasons = skipped(db_path)
    assert reasons["file:///etc/passwd"][0] == "bad-url"
    assert reasons[local_sitemap.as_uri()][0] == "bad-url"


def test_remote_robots_txt_naming_local_sitemaps_reads_none_of_them(hostile, local_sitemap, db_path):
    result = crawl("sitemap", db_path, url=f"{hostile.base}/evil/robots.txt")
    assert result.returncode == 0, result.stderr
    assert hostile.requested(SECRET) == []
    reasons = skipped(db_path)
    assert reasons["file:///etc/passwd"][0] == "bad-url"
    assert reasons[local_sitemap.as_uri()][0] == "bad-url"


def test_feed_item_linking_a_local_file_is_bad_url_and_the_rest_is_stored(hostile, db_path):
    result = crawl("feed", db_path, url=f"{hostile.base}/feed.xml")
    assert result.returncode == 0, result.stderr
    assert skipped(db_path)["file:///etc/passwd"][0] == "bad-url"
    assert [r["url"] for r in read_rows(db_path, "SELECT url FROM articles")] == [f"{hostile.base}/article.html"]


# --- the URL list: every hostile answer, one crawl ------------------------------------

HOSTILE_PATHS = [
    "/to-file", "/canonical-file.html", "/loop-a", "/self", "/chain-redirect", "/no-length.html",
    "/bomb/gzip", "/bomb/deflate", "/bomb/br", "/article.html",
]  # fmt: skip
LONG_URL = "http://127.0.0.1:9/" + "a" * 8000


@pytest.fixture(scope="module")
def url_list_run(hostile, tmp_path_factory):
    folder = tmp_path_factory.mktemp("url-list")
    lines = ["http://[::1", "http://127.0.0.1:99999/x", LONG_URL, *(hostile.base + p for p in HOSTILE_PATHS)]
    (folder / "urls.txt").write_text("\n".join(lines) + "\n")
    db = folder / "sieve.db"
    result = crawl("urls", db, path=str(folder / "urls.txt"))
    return db, result, lines


def test_url_list_run_with_hostile_lines_exits_zero(url_list_run):
    _, result, _ = url_list_run
    assert result.returncode == 0, result.stderr


def test_every_line_of_a_hostile_url_list_is_accounted_for(url_list_run):
    db, _, lines = url_list_run
    stored = {row["url"] for row in read_rows(db, "SELECT url FROM articles")}
    assert set(lines) == stored | set(skipped(db))


@pytest.mark.parametrize("url", ["http://[::1", "http://127.0.0.1:99999/x"])
def test_unparseable_url_in_a_list_is_bad_url(url_list_run, url):
    db, _, _ = url_list_run
    assert skipped(db)[url][0] == "bad-url"


def test_url_longer_than_the_limit_is_url_too_long(url_list_run):
    db, _, _ = url_list_run
    reason, detail = skipped(db)[LONG_URL]
    assert reason == "url-too-long" and "URLLENGTH_LIMIT" in detail


def test_redirect_to_a_local_file_is_bad_url(hostile, url_list_run):
    db, _, _ = url_list_run
    assert skipped(db)[f"{hostile.base}/to-file"] == ("bad-url", "redirected to file:///etc/passwd, not an http or https URL")


def test_canonical_link_to_a_local_file_is_not_taken(hostile, url_list_run):
    db, _, _ = url_list_run
    [row] = read_rows(db, "SELECT canonical_url, source FROM articles WHERE url = ?", (f"{hostile.base}/canonical-file.html",))
    # trafilatura itself takes only an http(s) canonical link.
    assert (row["canonical_url"], row["source"]) == (None, "127.0.0.1")


@pytest.mark.parametrize("path", ["/loop-a", "/self"])
def test_redirect_loop_is_recorded_as_redirect_loop(hostile, url_list_run, path):
    db, _, _ = url_list_run
    reason, detail = skipped(db)[hostile.base + path]
    assert reason == "redirect-loop" and "go round in a circle" in detail


def test_endless_redirect_chain_is_too_many_redirects(hostile, url_list_run):
    db, _, _ = url_list_run
    assert skipped(db)[f"{hostile.base}/chain-redirect"][0] == "too-many-redirects"


def test_body_without_length_beyond_the_limit_is_too_large(hostile, url_list_run):
    db, _, _ = url_list_run
    reason, detail = skipped(db)[f"{hostile.base}/no-length.html"]
    assert reason == "too-large" and "SIEVE_MAX_BYTES (200000 bytes)" in detail


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "br"])
def test_compression_bomb_is_too_large_naming_the_limit(hostile, url_list_run, encoding):
    db, _, _ = url_list_run
    reason, detail = skipped(db)[f"{hostile.base}/bomb/{encoding}"]
    assert reason == "too-large" and "SIEVE_MAX_BYTES (200000 bytes)" in detail


# --- 2, 3, 4: bounded work ------------------------------------------------------------


def test_nested_sitemap_indexes_stop_at_the_depth_limit(hostile, db_path):
    before = len(hostile.requested("/chain.xml"))
    result = crawl("sitemap", db_path, {"SIEVE_SITEMAP_MAX_DEPTH": "3"}, url=f"{hostile.base}/chain.xml?n=0")
    assert result.returncode == 0, result.stderr
    assert len(hostile.requested("/chain.xml")) - before == 4  # the sitemap given and three levels below it
    reason, detail = skipped(db_path)[f"{hostile.base}/chain.xml?n=4"]
    assert reason == "sitemap-too-deep" and "SIEVE_SITEMAP_MAX_DEPTH (3)" in detail


def test_gzipped_sitemap_bomb_is_too_large_and_the_run_goes_on(hostile, db_path):
    result = crawl("sitemap", db_path, url=f"{hostile.base}/bomb-index.xml")
    assert result.returncode == 0, result.stderr
    assert skipped(db_path)[f"{hostile.base}/bomb.xml.gz"][0] == "too-large"
    assert [r["url"] for r in read_rows(db_path, "SELECT url FROM articles")] == [f"{hostile.base}/article.html"]


def test_page_with_thousands_of_links_is_followed_only_up_to_the_limit(hostile, db_path):
    before = len(hostile.requested("/link/"))
    result = crawl("site", db_path, {"SIEVE_MAX_LINKS_PER_PAGE": "50"}, url=f"{hostile.base}/many-links.html?count=2000", depth="1")
    assert result.returncode == 0, result.stderr
    assert len(hostile.requested("/link/")) - before == 50
    assert run_stats(db_path)["sieve/refused/too-many-links"] == 1


def test_pages_passing_themselves_off_as_another_site_change_nothing_stored_for_it(hostile, tmp_path, db_path):
    """The same server under another host name plays the attacker: its
    pages declare canonical URLs on 127.0.0.1 and copy a paragraph of
    127.0.0.1's story, as many times as site boilerplate needs."""
    from tests.hostile_site import COPIED

    attacker = hostile.base.replace("127.0.0.1", "localhost")
    copycats = [f"{attacker}/copycat/{n}" for n in range(3)]  # SIEVE_SITE_BOILERPLATE_MIN
    (tmp_path / "urls.txt").write_text("\n".join([f"{hostile.base}/victim.html", *copycats]) + "\n")
    result = crawl("urls", db_path, path=str(tmp_path / "urls.txt"))
    assert result.returncode == 0, result.stderr
    [victim] = read_rows(db_path, "SELECT id, source, text FROM articles WHERE url = ?", (f"{hostile.base}/victim.html",))
    assert (victim["source"], COPIED in victim["text"]) == ("127.0.0.1", True)
    assert [row["reason"] for row in read_rows(db_path, "SELECT reason FROM removed WHERE article_id = ?", (victim["id"],))] == ["title"]
    assert {row["source"] for row in read_rows(db_path, "SELECT source FROM articles WHERE url LIKE ?", (f"{attacker}/%",))} == {"localhost"}
    # What the copies do teach is about the site that served them.
    assert [row["source"] for row in read_rows(db_path, "SELECT source FROM site_boilerplate")] == ["localhost"]


# --- 8: local files -----------------------------------------------------------------


def test_named_pipe_in_a_folder_is_skipped_not_read(tmp_path, db_path):
    write_articles(tmp_path / "in", 2)
    os.mkfifo(tmp_path / "in" / "pipe.txt")
    result = scrapy_crawl("files", db=db_path, args={"path": str(tmp_path / "in")}, timeout=60)
    assert result.returncode == 0, result.stderr
    assert skipped(db_path)[(tmp_path / "in" / "pipe.txt").as_uri()][0] == "not-a-file"
    assert len(read_rows(db_path, "SELECT id FROM articles")) == 2


def test_paragraph_printed_95_times_in_a_row_is_stored_once_and_94_copies_are_in_removed(tmp_path, db_path):
    lead = "The harbour authority opened its new ferry terminal on Saturday, two years after the old one burned down in a storm."
    copied = "Ferries to the islands will leave every hour from seven in the morning, and the last boat back will leave at eleven at night."
    last = "The old terminal's site will become a park with a playground, a fish market and a path along the water to the lighthouse."
    body = f"<p>{lead}</p>" + f"<p>{copied}</p>" * 95 + f"<p>{last}</p>"
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "ferry.html").write_text(f"<html><head><title>Ferry terminal opens</title></head><body><article>{body}</article></body></html>")
    result = scrapy_crawl("files", db=db_path, args={"path": str(tmp_path / "in")}, timeout=60)
    assert result.returncode == 0, result.stderr
    [(text,)] = read_rows(db_path, "SELECT text FROM articles")
    assert text.split("\n\n") == [lead, copied, last]
    removed = read_rows(db_path, "SELECT position, reason, match_position, text FROM removed ORDER BY position")
    assert [tuple(r) for r in removed] == [(i, "repeat", 1, copied) for i in range(2, 96)]


# --- 9: a database that cannot be written ------------------------------------------------


@pytest.fixture
def small_filesystem(tmp_path):
    """A 400 KB tmpfs: room for the schema and a few articles, no more."""
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount)], capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {made.stderr.strip()}")
    yield mount
    subprocess.run(["umount", str(mount)], check=True)


def test_full_disk_fails_the_run_and_counts_only_what_was_committed(tmp_path, small_filesystem):
    write_articles(tmp_path / "in", 60)
    db = small_filesystem / "sieve.db"
    result = scrapy_crawl("files", db=db, args={"path": str(tmp_path / "in")}, settings={"SIEVE_STORE_BATCH": "10"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1] == f"scrapy crawl files: could not write to {db}: database or disk is full"
    stored = len(read_rows(db, "SELECT id FROM articles"))
    assert 0 < stored < 60
    [run] = read_rows(db, "SELECT status, stats FROM runs")
    assert run["status"] == "failed"
    stats = json.loads(run["stats"])
    assert stats["sieve/articles_stored"] == stored
    assert stats["sieve/errors/database"] == 1
    assert read_rows(db, "PRAGMA integrity_check")[0][0] == "ok"



def crawl_interfered_with(tmp_path, db: Path, interfere) -> subprocess.CompletedProcess[str]:
    """A slow crawl of 40 articles; ``interfere(db)`` runs once its first
    article is committed."""
    from settings import ITEM_PIPELINES

    write_articles(tmp_path / "in", 40)
    pipelines = json.dumps({"tests.fault_stages.SlowStage": 50, **ITEM_PIPELINES})
    settings = {"ITEM_PIPELINES": pipelines, "SIEVE_WORKERS": "0", "SIEVE_STORE_BATCH": "5", "SIEVE_DB_BUSY_TIMEOUT": "0.2"}
    crawl = subprocess.Popen(
        crawl_command("files", db, {"path": str(tmp_path / "in")}, settings), cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )  # fmt: skip
    try:
        # Read only once the crawl is in WAL mode, where a reader cannot
        # hold up its writes (the busy timeout is short).
        while crawl.poll() is None and not (Path(f"{db}-wal").exists() and stored_count(db)):
            time.sleep(0.02)
        assert crawl.poll() is None, crawl.communicate()[1]
        interfere(db)
        stdout, stderr = crawl.communicate(timeout=120)
    finally:
        crawl.kill()
    return subprocess.CompletedProcess(crawl.args, crawl.returncode, stdout, stderr)


def stored_count(db: Path) -> int:
    try:
        return read_rows(db, "SELECT count(*) FROM articles")[0][0]
    except sqlite3.Error:
        return 0


def test_lock_taken_mid_run_stops_the_run_in_one_line_with_nothing_half_committed(tmp_path):
    db = tmp_path / "sieve.db"
    holders = []

    def lock(db):
        holder = sqlite3.connect(db, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        holders.append(holder)

    try:
        result = crawl_interfered_with(tmp_path, db, lock)
    finally:
        for holder in holders:
            holder.execute("ROLLBACK")
            holder.close()
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == f"scrapy crawl files: could not write to {db}: database is locked"
    assert 0 < stored_count(db) < 40
    assert read_rows(db, "PRAGMA integrity_check")[0][0] == "ok"


@pytest.mark.parametrize("what", ["removed", "replaced"])
def test_database_file_removed_or_replaced_mid_run_fails_the_run(tmp_path, what):
    db = tmp_path / "sieve.db"

    def interfere(db):
        for leftover in tmp_path.glob("sieve.db*"):
            leftover.unlink()
        if what == "replaced":
            sqlite3.connect(db).close()

    result = crawl_interfered_with(tmp_path, db, interfere)
    assert result.returncode == 1
    happened = "removed" if what == "removed" else "replaced by another file"
    assert result.stderr.strip().splitlines()[-1] == (
        f"scrapy crawl files: could not write to {db}: the database file was {happened} during the run"
    )
    assert "Traceback" not in result.stderr


# --- 10, 11: databases and arguments that are not Sieve's ---------------------------------


def foreign_database(path: Path, kind: str) -> str:
    conn = sqlite3.connect(path)
    if kind == "articles-at-version-0":
        conn.execute("CREATE TABLE articles (id INTEGER PRIMARY KEY, headline TEXT)")
        conn.execute("INSERT INTO articles (headline) VALUES ('not Sieve')")
    else:
        conn.execute("CREATE TABLE notes (body TEXT)")
        conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("kind", ["articles-at-version-0", "version-4-without-sieve-tables"])
def test_crawl_into_another_programs_database_is_refused_untouched(tmp_path, db_path, kind):
    digest = foreign_database(db_path, kind)
    write_articles(tmp_path / "in", 1)
    result = scrapy_crawl("files", db=db_path, args={"path": str(tmp_path / "in")})
    assert result.returncode == 2
    assert "is not a Sieve database" in result.stderr.strip().splitlines()[-1]
    assert "Traceback" not in result.stderr
    assert hashlib.sha256(db_path.read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("kind", ["articles-at-version-0", "version-4-without-sieve-tables"])
def test_export_from_another_programs_database_is_refused_untouched(db_path, kind):
    digest = foreign_database(db_path, kind)
    result = scrapy_command("export", db=db_path)
    assert result.returncode == 2
    assert "is not a Sieve database" in result.stderr
    assert "Traceback" not in result.stderr
    assert hashlib.sha256(db_path.read_bytes()).hexdigest() == digest


@pytest.fixture(scope="module")
def sieve_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    write_articles(folder / "in", 2)
    db = folder / "sieve.db"
    assert scrapy_crawl("files", db=db, args={"path": str(folder / "in")}).returncode == 0
    return db


@pytest.mark.parametrize("since", ["²", "99999999999999999999999"])
def test_export_since_that_is_no_run_or_time_is_a_one_line_error(sieve_db, since):
    result = scrapy_command("export", "--since", since, db=sieve_db)
    assert result.returncode == 2
    assert "--since" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    "target", ["missing-folder/out.jsonl", "a-folder", "/proc/sieve-export.jsonl"], ids=["missing-folder", "folder", "read-only"]
)
def test_export_to_an_unwritable_place_is_a_one_line_error_leaving_nothing(sieve_db, tmp_path, target):
    (tmp_path / "a-folder").mkdir()
    path = target if target.startswith("/") else str(tmp_path / target)
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "export", "-o", path, "-s", f"SIEVE_DB={sieve_db}"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith(f"-o {path}: ") or f"-o {path}: " in result.stderr
    assert "Traceback" not in result.stderr
    assert not Path(f"{path}.partial").exists()
    assert not (tmp_path / "missing-folder").exists()
