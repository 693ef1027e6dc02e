"""Scheduled ingestion: incremental runs, two runs at once, killed runs,
JOBDIR, exit status, and the downstream commands, with real processes."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import settings as project_settings
from crawler.storage import schema as database
from tests.fixture_site import STORIES
from tests.helpers import FAST_WEB, REPO, crawl_command, read_rows, scrapy_command, scrapy_crawl, slow_stages, write_articles


def count(db: Path, sql: str, params: tuple = ()) -> int:
    return read_rows(db, sql, params)[0][0]


def run_stats(db: Path, run_id: int) -> dict:
    return json.loads(read_rows(db, "SELECT stats FROM runs WHERE id = ?", (run_id,))[0]["stats"])


def wait_for(predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def stored(db: Path) -> int:
    try:
        return count(db, "SELECT count(*) FROM articles")
    except Exception:  # not created yet, or being migrated
        return 0


# --- incremental ------------------------------------------------------------


def test_second_run_over_unchanged_files_reads_none_of_them(tmp_path, db_path):
    write_articles(tmp_path / "in", 5)
    assert scrapy_crawl("files", db=db_path, args={"path": str(tmp_path / "in")}).returncode == 0
    before = [tuple(r) for r in read_rows(db_path, "SELECT id, text, changed_at, last_seen FROM articles ORDER BY id")]
    assert scrapy_crawl("files", db=db_path, args={"path": str(tmp_path / "in")}).returncode == 0
    stats = run_stats(db_path, 2)
    assert stats["sieve/unchanged/same-file"] == 5
    assert "downloader/request_count" not in stats and "sieve/articles_stored" not in stats
    after = read_rows(db_path, "SELECT id, text, changed_at, last_seen FROM articles ORDER BY id")
    assert [tuple(r)[:3] for r in after] == [b[:3] for b in before]
    assert all(a["last_seen"] > b[3] for a, b in zip(after, before))


def test_only_the_changed_file_is_processed_again(tmp_path, db_path):
    paths = write_articles(tmp_path / "in", 3)
    assert scrapy_crawl("files", db=db_path, args={"path": str(tmp_path / "in")}).returncode == 0
    paths[1].write_text(paths[1].read_text() + "\nA correction was appended to this story by the editors today.\n")
    assert scrapy_crawl("files", db=db_path, args={"path": str(tmp_path / "in")}).returncode == 0
    stats = run_stats(db_path, 2)
    assert (stats["sieve/unchanged/same-file"], stats["sieve/articles_stored"]) == (2, 1)
    assert count(db_path, "SELECT count(*) FROM articles WHERE run_id = 2 AND text LIKE '%correction was appended%'") == 1


def test_touched_file_with_the_same_bytes_is_not_processed_again(tmp_path, db_path):
    [path] = write_articles(tmp_path / "in", 1)
    assert scrapy_crawl("files", db=db_path, args={"path": str(path)}).returncode == 0
    os.utime(path, (time.time() + 60, time.time() + 60))
    assert scrapy_crawl("files", db=db_path, args={"path": str(path)}).returncode == 0
    assert run_stats(db_path, 2)["sieve/unchanged/same-body"] == 1


def test_server_answering_304_costs_no_download_and_no_write(site, tmp_path, db_path):
    listing = tmp_path / "urls.txt"
    listing.write_text("".join(f"{site.base}{s.path}\n" for s in STORIES[:2]))
    assert scrapy_crawl("urls", db=db_path, args={"path": str(listing)}, settings=FAST_WEB).returncode == 0
    before = [tuple(r) for r in read_rows(db_path, "SELECT id, text, changed_at, run_id FROM articles ORDER BY id")]
    site.log.clear()
    assert scrapy_crawl("urls", db=db_path, args={"path": str(listing)}, settings=FAST_WEB).returncode == 0
    asked = [headers for _, path, headers in site.log if path != "/robots.txt"]
    assert len(asked) == 2 and all("If-None-Match" in h and "If-Modified-Since" in h for h in asked)
    stats = run_stats(db_path, 2)
    assert stats["sieve/unchanged/not-modified"] == 2
    assert stats["downloader/response_status_count/304"] == 2
    assert [tuple(r) for r in read_rows(db_path, "SELECT id, text, changed_at, run_id FROM articles ORDER BY id")] == before


def test_incremental_off_downloads_everything_again(site, tmp_path, db_path):
    listing = tmp_path / "urls.txt"
    listing.write_text(f"{site.base}{STORIES[0].path}\n")
    for _ in range(2):
        assert scrapy_crawl("urls", db=db_path, args={"path": str(listing)}, settings={**FAST_WEB, "SIEVE_INCREMENTAL": "False"}).returncode == 0
    stats = run_stats(db_path, 2)
    assert stats["downloader/response_status_count/200"] >= 1 and "downloader/response_status_count/304" not in stats


def test_sitemap_entries_dated_before_the_last_download_are_not_fetched(site, db_path):
    assert scrapy_crawl("sitemap", db=db_path, args={"url": f"{site.base}/sitemap_index.xml"}, settings=FAST_WEB).returncode == 0
    site.log.clear()
    assert scrapy_crawl("sitemap", db=db_path, args={"url": f"{site.base}/sitemap_index.xml"}, settings=FAST_WEB).returncode == 0
    fetched = {path for _, path, _ in site.log}
    assert fetched.isdisjoint(s.path for s in STORIES)
    assert run_stats(db_path, 2)["sieve/unchanged/listed-unchanged"] == len(STORIES) + 3


def test_feed_items_dated_before_the_last_download_are_not_fetched(site, db_path):
    for _ in range(2):
        site.log.clear()
        assert scrapy_crawl("feed", db=db_path, args={"url": f"{site.base}/feeds/all.rdf"}, settings=FAST_WEB).returncode == 0
    assert {path for _, path, _ in site.log} == {"/robots.txt", "/feeds/all.rdf"}
    assert run_stats(db_path, 2)["sieve/unchanged/listed-unchanged"] == len(STORIES)


# --- safe runs ----------------------------------------------------------------


def test_two_crawls_into_one_database_at_once_both_finish(tmp_path, db_path):
    write_articles(tmp_path / "a", 40, seed=1)
    write_articles(tmp_path / "b", 40, seed=2)
    settings = {"SIEVE_STORE_BATCH": "5", "SIEVE_WORKERS": "2"}
    processes = [
        subprocess.Popen(crawl_command("files", db_path, {"path": str(tmp_path / name)}, settings), cwd=REPO, stderr=subprocess.PIPE, text=True)
        for name in ("a", "b")
    ]
    errors = [p.communicate(timeout=180)[1] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], errors
    assert not any("database is locked" in e for e in errors)
    assert count(db_path, "SELECT count(*) FROM articles") == 80
    assert count(db_path, "SELECT count(DISTINCT url) FROM articles") == 80
    assert [r["status"] for r in read_rows(db_path, "SELECT status FROM runs")] == ["finished", "finished"]
    assert read_rows(db_path, "PRAGMA integrity_check")[0][0] == "ok"


def test_killed_crawl_leaves_a_sound_database_and_the_next_run_completes_it(tmp_path, db_path):
    write_articles(tmp_path / "in", 120)
    slow = {**slow_stages(), "SIEVE_STORE_BATCH": "5", "SIEVE_WORKERS": "2"}
    process = subprocess.Popen(crawl_command("files", db_path, {"path": str(tmp_path / "in")}, slow), cwd=REPO, stderr=subprocess.DEVNULL)
    wait_for(lambda: stored(db_path) >= 15)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert read_rows(db_path, "PRAGMA integrity_check")[0][0] == "ok"
    [run] = read_rows(db_path, "SELECT status, finished_at FROM runs")
    assert (run["status"], run["finished_at"]) == ("running", None)
    done_before = stored(db_path)
    assert 15 <= done_before < 120

    assert scrapy_crawl("files", db=db_path, args={"path": str(tmp_path / "in")}).returncode == 0
    assert count(db_path, "SELECT count(*) FROM articles") == 120
    assert count(db_path, "SELECT count(DISTINCT url) FROM articles") == 120
    assert [r["status"] for r in read_rows(db_path, "SELECT status FROM runs ORDER BY id")] == ["interrupted", "finished"]
    assert run_stats(db_path, 2)["sieve/articles_stored"] == 120 - done_before


def test_jobdir_pause_and_resume(tmp_path, db_path):
    write_articles(tmp_path / "in", 150)
    job = {"JOBDIR": str(tmp_path / "job"), "SIEVE_INCREMENTAL": "False"}
    command = crawl_command("files", db_path, {"path": str(tmp_path / "in")}, {**job, **slow_stages()})
    process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.DEVNULL)
    wait_for(lambda: stored(db_path) >= 10)
    process.send_signal(signal.SIGINT)  # Ctrl-C: stop cleanly, keep the job's state
    assert process.wait(timeout=60) == 1  # the run did not finish
    paused_at = stored(db_path)
    assert paused_at < 150

    assert scrapy_crawl("files", db=db_path, args={"path": str(tmp_path / "in")}, settings=job).returncode == 0
    assert count(db_path, "SELECT count(*) FROM articles") == 150
    # The resumed run fetched only what the paused one had not.
    assert run_stats(db_path, 2)["sieve/files/read"] <= 150 - paused_at + 1
    assert [r["status"] for r in read_rows(db_path, "SELECT status FROM runs ORDER BY id")] == ["shutdown", "finished"]


def test_ctrl_c_while_the_workers_start_stops_the_crawl_without_tracebacks(tmp_path, db_path):
    """Ctrl-C reaches the whole process group, the workers' fork server too,
    which may still be importing the stages as the spider opens."""
    write_articles(tmp_path / "in", 300)
    command = crawl_command("files", db_path, {"path": str(tmp_path / "in")}, {"SIEVE_WORKERS": "2", "LOG_LEVEL": "INFO"})
    process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True, start_new_session=True)
    for line in process.stderr:
        if "writing to" in line:  # the spider is opening
            break
    time.sleep(0.1)  # Scrapy abandons a crawl stopped before its spider has opened
    os.killpg(process.pid, signal.SIGINT)
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 1
    assert "Traceback" not in stderr and "Error caught" not in stderr, stderr
    assert [r["status"] for r in read_rows(db_path, "SELECT status FROM runs")] == ["shutdown"]


def test_ctrl_c_at_default_politeness_fetches_the_queued_requests_at_once_and_says_so(fresh_site, tmp_path, db_path):
    # Default politeness: AutoThrottle and the delay hold requests in the downloader.
    command = crawl_command("site", db_path, {"url": f"{fresh_site.base}/"}, {"SIEVE_CONTACT": "tests@sieve.invalid", "SIEVE_MAX_BYTES": "200000"})
    process = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len([p for p in fresh_site.paths_requested() if p != "/robots.txt"]) >= 3)
    process.send_signal(signal.SIGINT)
    stderr = process.stderr.read()
    assert process.wait(timeout=60) == 1
    [stopping] = re.findall(r"Stopping: waiting for (\d+) downloads \((\d+) of them no longer delayed\)", stderr)[:1]
    assert int(stopping[1]) > 0, stderr
    # Nothing the server answered was lost on the way.
    answered = {p for p in fresh_site.paths_requested() if p != "/robots.txt" and not p.startswith("/old/")}  # /old/: a redirect
    recorded = read_rows(db_path, "SELECT url FROM articles UNION SELECT url FROM skipped")
    assert answered <= {r["url"].removeprefix(fresh_site.base) for r in recorded}


def test_stopped_run_exits_non_zero_and_is_recorded_as_not_finished(tmp_path, db_path):
    write_articles(tmp_path / "in", 150)
    process = subprocess.Popen(
        crawl_command("files", db_path, {"path": str(tmp_path / "in")}, slow_stages()), cwd=REPO, stderr=subprocess.DEVNULL
    )
    wait_for(lambda: stored(db_path) >= 5)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 1
    assert [r["status"] for r in read_rows(db_path, "SELECT status FROM runs")] == ["shutdown"]


def test_unusable_database_is_a_one_line_error_and_exit_status_1(tmp_path):
    (tmp_path / "sieve.db").write_bytes(b"this is not an SQLite database" * 100)
    result = scrapy_crawl("files", db=tmp_path / "sieve.db", args={"path": str(tmp_path)})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("scrapy crawl files: cannot open the database")
    assert "Traceback" not in result.stderr


def test_bad_setting_is_a_one_line_error_and_exit_status_2(tmp_path, db_path):
    result = scrapy_crawl("files", db=db_path, args={"path": str(tmp_path)}, settings={"SIEVE_BOILERPLATE_PATTERNS": "(unclosed"})
    assert result.returncode == 2
    assert "SIEVE_BOILERPLATE_PATTERNS: '(unclosed' is not a regular expression" in result.stderr.strip().splitlines()[-1]


def test_stage_error_fails_the_run_even_without_a_database(tmp_path):
    write_articles(tmp_path / "in", 2)
    (tmp_path / "in" / "raise.txt").write_text("A story.\n\nRAISE-IN-THE-STAGE\n")
    pipelines = json.dumps({"tests.fault_stages.FaultInjector": 50, **project_settings.ITEM_PIPELINES})
    result = subprocess.run(
        [*crawl_command("files", tmp_path / "unused.db", {"path": str(tmp_path / "in")}), "-s", "SIEVE_DB=", "-s", f"ITEM_PIPELINES={pipelines}"],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "Sieve run without a database failed" in result.stderr
    assert not (tmp_path / "unused.db").exists()


def test_other_min_words_on_an_indexed_database_is_a_one_line_error_and_exit_status_2(tmp_path, db_path):
    write_articles(tmp_path / "in", 2)
    assert scrapy_crawl("files", db=db_path, args={"path": str(tmp_path / "in")}).returncode == 0
    (tmp_path / "in" / "article-0-0000.txt").write_text("A new story about the harbour.\n\nIt changed.\n")
    result = scrapy_crawl("files", db=db_path, args={"path": str(tmp_path / "in")}, settings={"SIEVE_REPEAT_MIN_WORDS": "10"})
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("scrapy crawl files: the database is indexed with the MinHash scheme") and "SIEVE_REPEAT_MIN_WORDS" in last
    assert "Traceback" not in result.stderr
    assert count(db_path, "SELECT count(*) FROM runs") == 1


# --- downstream ---------------------------------------------------------------


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, str]:
    """Two runs into one database, which the tests below only read."""
    tmp_path = tmp_path_factory.mktemp("two-runs")
    db_path = tmp_path / "sieve.db"
    write_articles(tmp_path / "one", 2, seed=1)
    assert scrapy_crawl("files", db=db_path, args={"path": str(tmp_path / "one")}).returncode == 0
    between = read_rows(db_path, "SELECT finished_at FROM runs WHERE id = 1")[0][0]
    time.sleep(0.01)
    write_articles(tmp_path / "two", 3, seed=2)
    (tmp_path / "two" / "copy.txt").write_text((tmp_path / "one" / "article-1-0000.txt").read_text())
    assert scrapy_crawl("files", db=db_path, args={"path": str(tmp_path / "two")}).returncode == 0
    return db_path, between


def export(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = scrapy_command("export", *args, db=db)
    assert result.returncode == 0, result.stderr
    return result


def test_export_since_a_run_gives_only_that_runs_articles(two_runs):
    db, _ = two_runs
    records = [json.loads(line) for line in export(db, "--since-run", "2").stdout.splitlines()]
    assert len(records) == 3 and {r["run_id"] for r in records} == {2}
    assert [r["id"] for r in records] == sorted(r["id"] for r in records)


def test_export_since_a_time_gives_what_changed_after_it(two_runs):
    db, between = two_runs
    records = [json.loads(line) for line in export(db, "--since", between).stdout.splitlines()]
    assert {r["run_id"] for r in records} == {2} and len(records) == 3


def test_export_leaves_out_duplicates_unless_asked(two_runs):
    db, _ = two_runs
    assert len(export(db).stdout.splitlines()) == 5
    records = [json.loads(line) for line in export(db, "--include-duplicates").stdout.splitlines()]
    assert len(records) == 6 and sum(r["duplicate_of"] is not None for r in records) == 1


def test_export_record_has_the_fields_downstream_reads(two_runs):
    db, _ = two_runs
    record = json.loads(export(db).stdout.splitlines()[0])
    for field in ["url", "canonical_url", "source", "title", "author", "published", "language", "text", "paragraphs", "run_id"]:
        assert field in record
    assert record["paragraphs"] == record["text"].split("\n\n") and len(record["paragraphs"]) == 4


def test_export_csv_to_a_file(two_runs, tmp_path):
    db, _ = two_runs
    export(db, "--format", "csv", "-o", str(tmp_path / "out.csv"))
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text())))
    assert len(rows) == 5 and len(json.loads(rows[0]["paragraphs"])) == 4
    assert not (tmp_path / "out.csv.partial").exists()


def test_runs_lists_each_run_with_its_counters(two_runs):
    db, _ = two_runs
    result = scrapy_command("runs", db=db)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:6] == ["run", "spider", "status", "started", "took", "stored"]
    second, first = lines[2].split(), lines[3].split()
    assert (second[0], second[1], second[2], second[5]) == ("2", "files", "finished", "4")
    assert (first[0], first[5]) == ("1", "2")


def test_runs_shows_a_count_of_zero_as_0(two_runs):
    db, _ = two_runs
    first = scrapy_command("runs", db=db).stdout.splitlines()[3].split()
    # stored, unchanged, duplicates, skipped: none blank
    assert first[0] == "1" and first[5:9] == ["2", "0", "0", "0"]


def test_stats_gives_each_sources_latest_publication_day(tmp_path):
    db = tmp_path / "sieve.db"
    assert scrapy_crawl("files", db=db, args={"path": str(REPO / "examples" / "articles")}).returncode == 0
    lines = scrapy_command("stats", db=db).stdout.split("\nsources\n", 1)[1].splitlines()[2:]
    latest = {line.split()[0]: line.split()[3:] for line in lines}
    # The riverton example declares a time of day; the others a day.
    assert latest["riverton-gazette.example"] == ["2024-03-12"] and latest["cuisine-terroir.example"] == ["2024-02-04"]


def test_stats_summarises_the_database(two_runs):
    db, _ = two_runs
    result = scrapy_command("stats", db=db)
    assert result.returncode == 0, result.stderr
    assert "articles          6" in result.stdout
    assert "near-duplicates 1" in result.stdout
    assert f"schema version {len(database.MIGRATIONS)}" in result.stdout


def test_reader_commands_refuse_a_missing_database(tmp_path):
    result = scrapy_command("export", db=tmp_path / "none.db")
    assert result.returncode == 2 and "no database at" in result.stderr
    assert not (tmp_path / "none.db").exists()


def test_relative_sieve_db_is_from_the_project_root_whatever_the_working_folder(tmp_path):
    relative = os.path.relpath(tmp_path / "sieve.db", REPO)
    command = crawl_command("files", Path(relative), {"path": str(REPO / "examples" / "articles")})
    result = subprocess.run(command, cwd=REPO / "docs", capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert count(tmp_path / "sieve.db", "SELECT count(*) FROM articles") == 5
    assert f"writing to {tmp_path / 'sieve.db'}" in result.stderr
    stats = subprocess.run([sys.executable, "-m", "scrapy", "stats", "-s", f"SIEVE_DB={relative}"], cwd=REPO / "docs", capture_output=True, text=True, timeout=60)
    assert stats.stdout.startswith(f"database          {tmp_path / 'sieve.db'} ")
