"""crawler.runs: the status a run ends with, and whether it succeeded."""

from __future__ import annotations

import pytest

from crawler.runs import run_status, run_succeeded
from tests.helpers import REPO, scrapy_crawl

CLEAN = {"item_scraped_count": 12, "sieve/articles_stored": 10, "sieve/skipped/http-404": 2}


def test_finished_run_without_errors_succeeds():
    status = run_status(CLEAN, "finished")
    assert status == "finished"
    assert run_succeeded(status)


def test_closespider_limit_is_a_success():
    status = run_status(CLEAN, "closespider_timeout")
    assert status == "closespider_timeout"
    assert run_succeeded(status)


def test_shutdown_is_not_a_success():
    status = run_status(CLEAN, "shutdown")
    assert status == "shutdown"
    assert not run_succeeded(status)


@pytest.mark.parametrize("counter", ["spider_exceptions/count", "sieve/errors/pipeline", "sieve/errors/database"])
@pytest.mark.parametrize("reason", ["finished", "closespider_timeout"])
def test_each_error_counter_fails_the_run(counter, reason):
    status = run_status({**CLEAN, counter: 1}, reason)
    assert status == "failed"
    assert not run_succeeded(status)


def test_error_counter_at_zero_does_not_fail_the_run():
    assert run_status({**CLEAN, "sieve/errors/pipeline": 0}, "finished") == "finished"


def test_scheduled_run_log_is_short_with_the_summary_last(tmp_path):
    result = scrapy_crawl("files", db=tmp_path / "sieve.db", args={"path": str(REPO / "examples" / "articles")})
    assert result.returncode == 0, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) <= 15, result.stderr
    assert "Sieve run 1 (" in lines[-1] and "finished: 5 new" in lines[-1]
    assert sum("Creating the database tables" in line for line in lines) == 1
    assert not any("Migrating" in line or "Dumping Scrapy stats" in line or "Enabled " in line for line in lines)


def test_debug_log_keeps_scrapys_lists_and_stats(tmp_path):
    args = {"path": str(REPO / "examples" / "articles")}
    result = scrapy_crawl("files", db=tmp_path / "sieve.db", args=args, settings={"LOG_LEVEL": "DEBUG"})
    assert result.returncode == 0, result.stderr
    for shown in ("Enabled extensions:", "Overridden settings:", "Scrapy stats:", "Migrating the database to schema version 12"):
        assert shown in result.stderr
