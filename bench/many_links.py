"""Memory and stall on a hostile page: a ``site`` crawl of one page with
200,000 links (8.8 MB, under SIEVE_MAX_BYTES), served on 127.0.0.1 by the
tests' hostile server, with SIEVE_MAX_LINKS_PER_PAGE at its default and,
as the baseline in the same run, high enough to take every link.

    python bench/many_links.py [--links 200000] [--seconds 30]

Each crawl stops after ``--seconds`` (CLOSESPIDER_TIMEOUT). Memory is the
peak resident memory of the crawl's process and of its whole process tree
(the extraction workers included), sampled every 200 ms.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawler.progress import tree_rss_bytes  # noqa: E402
from tests.hostile_site import HostileServer  # noqa: E402


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
    except OSError:
        return 0


def crawl(server: HostileServer, links: int, limit: int, seconds: int) -> dict[str, float | None]:
    before = len(server.requested("/link/"))
    with tempfile.TemporaryDirectory() as folder:
        command = [
            sys.executable, "-m", "scrapy", "crawl", "site", "-a", f"url={server.base}/many-links.html?count={links}",
            "-a", "depth=1", "-s", f"SIEVE_DB={folder}/sieve.db", "-s", f"SIEVE_MAX_LINKS_PER_PAGE={limit}",
            "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", f"CLOSESPIDER_TIMEOUT={seconds}",
            "-s", "LOG_LEVEL=WARNING", "-s", "SIEVE_CONTACT=bench@sieve.invalid",
        ]  # fmt: skip
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        main = whole = 0
        first: float | None = None
        while process.poll() is None:
            main = max(main, rss_kb(process.pid))
            whole = max(whole, tree_rss_bytes(process.pid) // 1024)
            if first is None and len(server.requested("/link/")) > before:
                first = time.monotonic() - started
            time.sleep(0.2)
    return {"main": main / 1024, "tree": whole / 1024, "first": first, "fetched": len(server.requested("/link/")) - before}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--links", type=int, default=200_000)
    parser.add_argument("--seconds", type=int, default=30)
    args = parser.parse_args()
    server = HostileServer()
    server.start()
    try:
        rows = [
            ("SIEVE_MAX_LINKS_PER_PAGE=1000 (default)", crawl(server, args.links, 1000, args.seconds)),
            (f"SIEVE_MAX_LINKS_PER_PAGE={args.links} (every link)", crawl(server, args.links, args.links, args.seconds)),
        ]
    finally:
        server.stop()
    print(f"\n## One page with {args.links:,} links, crawls stopped after {args.seconds} s\n")
    print("| run | crawl process peak | process tree peak | first linked page fetched after | linked pages fetched |")
    print("|---|---|---|---|---|")
    for name, row in rows:
        first = "never" if row["first"] is None else f"{row['first']:.1f} s"
        print(f"| {name} | {row['main']:.0f} MB | {row['tree']:.0f} MB | {first} | {row['fetched']} |")


if __name__ == "__main__":
    main()
