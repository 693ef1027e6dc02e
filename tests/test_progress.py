"""What a crawl says while it runs and when it ends."""

from __future__ import annotations

import json
import re

import pytest

import settings as project_settings
from tests.helpers import read_rows, scrapy_crawl, slow_stages, write_articles


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """40 files crawled twice, slowly enough for several progress lines;
    the first time with two worker processes."""
    folder = tmp_path_factory.mktemp("progress")
    write_articles(folder / "in", 40)
    db = folder / "sieve.db"
    settings = {"SIEVE_PROGRESS_INTERVAL": "0.3", **slow_stages()}
    first = scrapy_crawl("files", db=db, args={"path": str(folder / "in")}, settings={**settings, "SIEVE_WORKERS": "2"})
    second = scrapy_crawl("files", db=db, args={"path": str(folder / "in")}, settings=settings)
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    return db, first.stderr, second.stderr


def test_progress_lines_appear_while_the_crawl_runs_with_the_total(two_runs):
    _, stderr, _ = two_runs
    lines = [line for line in stderr.splitlines() if "Progress: " in line]
    assert len(lines) >= 2
    assert all(re.search(r"\d+ documents done of 40 \(\d+%, ", line) for line in lines)


def test_summary_separates_new_unchanged_and_skipped(two_runs):
    _, first, second = two_runs
    assert "finished: 40 new and 0 updated articles (0 of these near-duplicates), 0 unchanged, 0 skipped" in first
    assert "finished: 0 new and 0 updated articles (0 of these near-duplicates), 40 unchanged, 0 skipped" in second


def test_memory_of_the_worker_processes_is_counted(two_runs):
    db, _, _ = two_runs
    stats = json.loads(read_rows(db, "SELECT stats FROM runs WHERE id = 1")[0]["stats"])
    # The crawl's process and its two workers at least (their fork server too).
    assert stats["sieve/memory/tree_processes_max"] >= 3
    # Not compared with Scrapy's memusage/max: on Linux ru_maxrss survives
    # exec, so it starts at the peak of whatever started the crawl (pytest).
    assert stats["sieve/memory/tree_max_mb"] > stats["sieve/memory/process_max_mb"] > 0


@pytest.mark.parametrize("workers", ["0", "1"])
def test_a_peak_between_samples_is_counted(tmp_path, db_path, workers):
    write_articles(tmp_path / "in", 3)
    (tmp_path / "in" / "big.txt").write_text("Memory\n\n" + "Words of a page that takes memory for a moment. " * 5 + "TAKE-300-MB-A-MOMENT\n")
    pipelines = json.dumps({"tests.fault_stages.FaultInjector": 50, **project_settings.ITEM_PIPELINES})
    # No progress interval ends during the run: only the kernel's high-water marks can show the peak.
    settings = {"ITEM_PIPELINES": pipelines, "SIEVE_WORKERS": workers, "SIEVE_PROGRESS_INTERVAL": "600"}
    result = scrapy_crawl("files", db=db_path, args={"path": str(tmp_path / "in")}, settings=settings)
    assert result.returncode == 0, result.stderr
    stats = json.loads(read_rows(db_path, "SELECT stats FROM runs")[0]["stats"])
    assert stats["sieve/memory/process_max_mb"] >= 300
    # With a worker, the tree holds the crawl's own process besides: Python with Scrapy loaded, more than 30 MB.
    assert stats["sieve/memory/tree_max_mb"] >= stats["sieve/memory/process_max_mb"] + (30 if workers == "1" else 0)


def test_item_scraped_count_counts_only_stored_articles(two_runs):
    db, _, _ = two_runs
    first, second = (json.loads(row["stats"]) for row in read_rows(db, "SELECT stats FROM runs ORDER BY id"))
    assert first["item_scraped_count"] == 40
    assert "item_scraped_count" not in second
