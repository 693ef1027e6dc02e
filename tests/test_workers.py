"""The worker pool: the same database with workers as without, and a worker
that crashes or hangs costs one page."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

import settings as project_settings
from tests.helpers import FIXTURES, REPO, read_rows, scrapy_crawl, write_articles

STORY = "Council passes the budget after a long night\\n\\nThe city council approved a budget on Tuesday night after a four-hour meeting.\\n"


def database_contents(db: Path) -> dict[str, list[tuple]]:
    return {
        "articles": [tuple(r) for r in read_rows(db, "SELECT id, url, title, text, duplicate_of, language FROM articles ORDER BY id")],
        "removed": [tuple(r) for r in read_rows(db, "SELECT article_id, position, text, reason, match_position, match_article_id FROM removed ORDER BY id")],
        "skipped": [tuple(r) for r in read_rows(db, "SELECT url, reason FROM skipped ORDER BY url")],
    }


@pytest.fixture(scope="module")
def mixed_folder(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("mixed")
    shutil.copytree(REPO / "examples" / "articles", folder / "examples")
    shutil.copytree(FIXTURES / "seeds", folder / "seeds")
    shutil.copytree(FIXTURES / "seeds", folder / "copies")  # near-duplicates of the seeds
    write_articles(folder / "generated", 30)
    (folder / "generated" / "broken.html").write_bytes(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(300))
    return folder


@pytest.fixture(scope="module")
def runs_with_and_without_workers(mixed_folder, tmp_path_factory) -> dict[str, tuple[Path, str]]:
    """The mixed folder crawled with no workers and with two: each run's
    database and standard error."""
    runs = {}
    for workers in ("0", "2"):
        db = tmp_path_factory.mktemp(f"workers-{workers}") / "sieve.db"
        result = scrapy_crawl("files", db=db, args={"path": str(mixed_folder)}, settings={"SIEVE_WORKERS": workers})
        assert result.returncode == 0, result.stderr
        runs[workers] = (db, result.stderr)
    return runs


def test_workers_store_exactly_what_one_process_stores(runs_with_and_without_workers):
    results = {workers: database_contents(db) for workers, (db, _) in runs_with_and_without_workers.items()}
    assert results["2"] == results["0"]
    assert len(results["2"]["articles"]) == 5 + 2 + 2 + 30
    # The two seeds are in examples/ too: three copies of each, two of them duplicates.
    assert sum(1 for row in results["2"]["articles"] if row[4] is not None) == 4


def test_counters_from_workers_reach_the_crawl_stats(runs_with_and_without_workers):
    db, stderr = runs_with_and_without_workers["2"]
    stats = json.loads(read_rows(db, "SELECT stats FROM runs")[0]["stats"])
    assert stats["sieve/extract/text"] == 2 + 2 + 2 + 30
    assert stats["sieve/extract/html"] == 3
    assert stats["sieve/workers/busy_seconds"] > 0
    assert "Stages in 2 worker processes" in stderr


@pytest.mark.parametrize("workers", ["0", "2"])
def test_every_stage_counts_its_cpu_time(runs_with_and_without_workers, workers):
    db, _ = runs_with_and_without_workers[workers]
    stats = json.loads(read_rows(db, "SELECT stats FROM runs")[0]["stats"])
    stages = ["ExtractPipeline", "CleanPipeline", "RepeatPipeline", "CrossDedupPipeline", "StorePipeline"]
    assert all(stats.get(f"sieve/cpu_us/{stage}", 0) > 0 for stage in stages), stats


@pytest.fixture
def faulty_pipelines() -> str:
    return json.dumps({"tests.fault_stages.FaultInjector": 50, **project_settings.ITEM_PIPELINES})


def test_worker_that_crashes_costs_only_its_page(tmp_path, db_path, faulty_pipelines):
    write_articles(tmp_path / "in", 6)
    (tmp_path / "in" / "crash.txt").write_text(STORY + "CRASH-THE-WORKER\\n")
    result = scrapy_crawl(
        "files", db=db_path, args={"path": str(tmp_path / "in")}, settings={"ITEM_PIPELINES": faulty_pipelines, "SIEVE_WORKERS": "2"}
    )
    assert result.returncode == 0, result.stderr
    assert len(read_rows(db_path, "SELECT id FROM articles")) == 6
    [skipped] = read_rows(db_path, "SELECT url, reason, detail FROM skipped")
    assert (Path(skipped["url"]).name, skipped["reason"]) == ("crash.txt", "worker-crashed")
    assert "exit code 13" in skipped["detail"]


def test_worker_that_hangs_is_replaced_after_the_timeout(tmp_path, db_path, faulty_pipelines):
    write_articles(tmp_path / "in", 6)
    (tmp_path / "in" / "hang.txt").write_text(STORY + "HANG-THE-WORKER\\n")
    result = scrapy_crawl(
        "files",
        db=db_path,
        args={"path": str(tmp_path / "in")},
        settings={"ITEM_PIPELINES": faulty_pipelines, "SIEVE_WORKERS": "1", "SIEVE_EXTRACT_TIMEOUT": "3"},
    )
    assert result.returncode == 0, result.stderr
    assert len(read_rows(db_path, "SELECT id FROM articles")) == 6
    [skipped] = read_rows(db_path, "SELECT url, reason FROM skipped")
    assert (Path(skipped["url"]).name, skipped["reason"]) == ("hang.txt", "extraction-timeout")


def test_workers_that_cannot_start_fail_the_run(tmp_path, db_path, faulty_pipelines):
    paths = write_articles(tmp_path / "in", 4)
    for path in paths:
        path.write_text(path.read_text() + "CRASH-THE-WORKER\\n")
    result = scrapy_crawl(
        "files", db=db_path, args={"path": str(tmp_path / "in")}, settings={"ITEM_PIPELINES": faulty_pipelines, "SIEVE_WORKERS": "1"}
    )
    assert result.returncode == 1
    assert "worker processes in a row died before finishing a page" in result.stderr
    assert read_rows(db_path, "SELECT status FROM runs")[0]["status"] == "failed"


@pytest.mark.parametrize("workers", ["0", "1"])
def test_document_a_stage_fails_on_is_skipped_as_stage_error_and_the_run_fails(tmp_path, db_path, faulty_pipelines, workers):
    write_articles(tmp_path / "in", 3)
    (tmp_path / "in" / "raise.txt").write_text(STORY + "RAISE-IN-THE-STAGE\n")
    result = scrapy_crawl(
        "files", db=db_path, args={"path": str(tmp_path / "in")}, settings={"ITEM_PIPELINES": faulty_pipelines, "SIEVE_WORKERS": workers}
    )
    assert result.returncode == 1
    assert len(read_rows(db_path, "SELECT id FROM articles")) == 3
    [skipped] = read_rows(db_path, "SELECT url, reason, detail FROM skipped")
    assert (Path(skipped["url"]).name, skipped["reason"]) == ("raise.txt", "stage-error")
    assert skipped["detail"] == "RuntimeError: this stage fails on purpose"
    assert read_rows(db_path, "SELECT status FROM runs")[0]["status"] == "failed"


def test_error_that_carries_the_whole_document_is_logged_and_recorded_bounded(tmp_path, db_path, faulty_pipelines):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "huge.txt").write_text(STORY + "RAISE-WITH-THE-BODY\n" + "All work and no play. " * 50_000)
    result = scrapy_crawl(
        "files", db=db_path, args={"path": str(tmp_path / "in")}, settings={"ITEM_PIPELINES": faulty_pipelines, "SIEVE_WORKERS": "0"}
    )
    assert result.returncode == 1
    [skipped] = read_rows(db_path, "SELECT reason, detail FROM skipped")
    assert skipped["reason"] == "stage-error" and skipped["detail"].startswith("ValueError: cannot use")
    assert len(skipped["detail"]) < 600
    assert result.stderr.count("All work and no play.") < 100
