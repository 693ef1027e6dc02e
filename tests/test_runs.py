"""crawler.runs: the status a run ends with, and whether it succeeded."""

from __future__ import annotations

import pytest

from crawler.runs import run_status, run_succeeded

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
