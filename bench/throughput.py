"""Throughput: ``scrapy crawl files`` end to end against a bare one-process
``trafilatura.extract`` loop over the same pages, in the same run.

    python bench/throughput.py [--copies 5]

The pages are the 181 of the article-extraction benchmark
(``../shared/bench/article-extraction/html``, read at run time), written
``--copies`` times into a temporary folder (905 pages by default). Sieve's
time includes everything: start-up, worker processes, cleaning, MinHash,
cross-document dedup (the copies are found as duplicates) and SQLite. Peak
memory is the largest total resident memory of the process and its children,
sampled every 50 ms. The runs are interleaved, several rounds of each, and
the table shows medians: the machines this runs on are shared and noisy.
"""

from __future__ import annotations

import argparse
import gzip
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawler.progress import tree_rss_bytes  # noqa: E402
DATA = REPO.parent / "shared" / "bench" / "article-extraction" / "html"
BARE_LOOP = """
import sys, pathlib, trafilatura
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.html")):
    trafilatura.extract(path.read_text(encoding="utf-8", errors="replace"))
"""


def run(command: list[str]) -> tuple[float, int, str]:
    """Wall time, peak resident memory of the process tree, and stdout."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    peak = 0

    def sample() -> None:
        nonlocal peak
        while process.poll() is None:
            peak = max(peak, tree_rss_bytes(process.pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    sampler.start()
    out, _ = process.communicate()
    sampler.join()
    if process.returncode:
        sys.exit(f"{command} failed with {process.returncode}")
    return time.perf_counter() - started, peak, out


def sieve_db(folder: Path, case: int, round_number: int) -> Path:
    """The database of a ``scrapy crawl`` case's run in :func:`interleaved`."""
    return folder / f"sieve-{case}-{round_number}.db"


def interleaved(cases: dict[str, list[str]], rounds: int, folder: Path) -> list[tuple[str, float, int]]:
    """Each command run ``rounds`` times, the cases interleaved so that a slow
    spell of this shared machine hits every case alike: (label, median
    seconds, peak memory). A ``scrapy`` command writes to a new
    :func:`sieve_db` in ``folder`` each run."""
    measured: dict[str, list[tuple[float, int]]] = {label: [] for label in cases}
    for round_number in range(rounds):
        for case, (label, command) in enumerate(cases.items()):
            if "scrapy" in command[:3]:
                command = [*command, "-s", f"SIEVE_DB={sieve_db(folder, case, round_number)}"]
            seconds, peak, _ = run(command)
            measured[label].append((seconds, peak))
            print(f"  round {round_number + 1}: {label}: {seconds:.1f} s", flush=True)
    return [(label, statistics.median(s for s, _ in runs), max(p for _, p in runs)) for label, runs in measured.items()]


def print_table(rows: list[tuple[str, float, int]], count: int) -> None:
    """The Markdown table of :func:`interleaved`'s rows, the first the baseline."""
    baseline = rows[0][1]
    print("| run | seconds (wall, end to end) | pages/s | ratio to bare loop | peak memory (process tree) |")
    print("|---|---|---|---|---|")
    for label, seconds, peak in rows:
        print(f"| {label} | {seconds:.1f} | {count / seconds:.1f} | {baseline / seconds:.2f} | {peak / 2**20:.0f} MB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--copies", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3, help="runs of each, interleaved; the table shows medians")
    args = parser.parse_args()
    sources = sorted(args.data.glob("*.html.gz"))
    with tempfile.TemporaryDirectory() as tmp:
        pages = Path(tmp) / "pages"
        for copy in range(args.copies):
            folder = pages / f"copy-{copy}"
            folder.mkdir(parents=True)
            for source in sources:
                (folder / source.name.removesuffix(".gz")).write_bytes(gzip.decompress(source.read_bytes()))
        count = len(sources) * args.copies
        cpus = len(os.sched_getaffinity(0))

        cases = {"bare trafilatura.extract loop, one process": [sys.executable, "-c", BARE_LOOP, str(pages)]}
        for label, workers in [(f"scrapy crawl files, SIEVE_WORKERS={cpus} (default)", None), ("scrapy crawl files, SIEVE_WORKERS=0", 0)]:
            command = [sys.executable, "-m", "scrapy", "crawl", "files", "-a", f"path={pages}", "-s", "LOG_LEVEL=WARNING"]
            if workers is not None:
                command += ["-s", f"SIEVE_WORKERS={workers}"]
            cases[label] = command
        rows = interleaved(cases, args.rounds, Path(tmp))

    print(f"\n## Throughput: {count} pages ({len(sources)} real pages x {args.copies}), {cpus} CPUs, median of {args.rounds} rounds\n")
    print_table(rows, count)


if __name__ == "__main__":
    main()
