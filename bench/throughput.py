"""Throughput: ``scrapy crawl files`` end to end against a bare one-process
``trafilatura.extract`` loop over the same pages, and against what a user
would run instead, trafilatura's own command line with one process per CPU
(``trafilatura --input-dir D --output-dir O --parallel N --json
--with-metadata --no-comments --deduplicate``), in the same run.

    python bench/throughput.py [--copies 5] [--rounds 3]

The pages are the 181 of the article-extraction benchmark
(``../shared/bench/article-extraction/html``, read at run time), written
``--copies`` times into a temporary folder (905 pages by default). Sieve's
time includes everything: start-up, worker processes, cleaning, MinHash,
cross-document dedup (the copies are found as duplicates) and SQLite. Sieve
runs with as many workers as CPUs (the default), each number of workers
below it, and none.

While a command runs, its process tree is sampled every 20 ms: resident
memory (the peak of the sum), CPU time (per process, the last value seen),
and for Sieve the database, for the first stored article. Per stage, the CPU
time comes from the run's own counters (``sieve/cpu_us/<stage>`` in
``runs.stats``); the crawl's process is measured alone too, as its time sets
a ceiling on pages/s whatever the number of workers. The runs are
interleaved, several rounds of each, and the tables show medians: the
machines this runs on are shared and noisy, and CPU time per page is the
steadier figure.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from crawler.progress import process_tree, tree_rss_bytes  # noqa: E402

#: The ``scrapy`` command as users run it (not ``python -m scrapy``: see
#: pipelines.fork_server.main_module_left_behind).
SCRAPY = str(Path(sys.executable).with_name("scrapy"))
DATA = REPO.parent / "shared" / "bench" / "article-extraction" / "html"
BARE_LOOP = """
import sys, pathlib, trafilatura
for path in sorted(pathlib.Path(sys.argv[1]).rglob("*.html")):
    trafilatura.extract(path.read_text(encoding="utf-8", errors="replace"))
"""
TICKS = os.sysconf("SC_CLK_TCK")
SAMPLE_SECONDS = 0.02


@dataclass
class Measured:
    seconds: float
    peak_rss: int
    #: CPU seconds of the command's own process, and of it and its descendants.
    own_cpu: float
    tree_cpu: float
    #: Seconds from launch until the database held an article (None: no database).
    first_stored: float | None = None
    #: The run's counters (``runs.stats``), for a ``scrapy crawl``.
    stats: dict = field(default_factory=dict)


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of one process, its children not included."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def has_article(db: Path) -> bool:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return conn.execute("SELECT 1 FROM articles LIMIT 1").fetchone() is not None
    except sqlite3.Error:
        return False


def run(command: list[str], db: Path | None = None) -> Measured:
    """Run a command to its end, sampling its process tree as it goes."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True)
    peak = 0
    cpu: dict[int, float] = {}
    first_stored = None

    def sample() -> None:
        nonlocal peak, first_stored
        while process.poll() is None:
            peak = max(peak, tree_rss_bytes(process.pid))
            for pid in process_tree(process.pid):
                with contextlib.suppress(OSError, IndexError):
                    cpu[pid] = process_cpu(pid)
            if db is not None and first_stored is None and has_article(db):
                first_stored = time.perf_counter() - started
            time.sleep(SAMPLE_SECONDS)

    sampler = threading.Thread(target=sample)
    sampler.start()
    process.communicate()
    sampler.join()
    if process.returncode:
        sys.exit(f"{command} failed with {process.returncode}")
    seconds = time.perf_counter() - started
    stats = {}
    if db is not None:
        with contextlib.closing(sqlite3.connect(db)) as conn:
            stats = json.loads(conn.execute("SELECT stats FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0])
    return Measured(seconds, peak, cpu.get(process.pid, 0.0), sum(cpu.values()), first_stored, stats)


def sieve_db(folder: Path, case: int, round_number: int) -> Path:
    """The database of a ``scrapy crawl`` case's run in :func:`interleaved`."""
    return folder / f"sieve-{case}-{round_number}.db"


def interleaved(cases: dict[str, list[str]], rounds: int, folder: Path) -> dict[str, list[Measured]]:
    """Each command run ``rounds`` times, the cases interleaved so that a slow
    spell of this shared machine hits every case alike. A ``scrapy`` command
    writes to a new :func:`sieve_db` in ``folder`` each run."""
    measured: dict[str, list[Measured]] = {label: [] for label in cases}
    for round_number in range(rounds):
        for case, (label, command) in enumerate(cases.items()):
            db = None
            if command[0] == SCRAPY:
                db = sieve_db(folder, case, round_number)
                command = [*command, "-s", f"SIEVE_DB={db}"]
            result = run(command, db)
            measured[label].append(result)
            print(f"  round {round_number + 1}: {label}: {result.seconds:.1f} s", flush=True)
    return measured


def median(runs: list[Measured], value) -> float:
    return statistics.median(value(run) for run in runs)


def print_table(measured: dict[str, list[Measured]], count: int) -> None:
    """The Markdown table of :func:`interleaved`'s runs; the first two cases
    (the bare loop, trafilatura's command line) are the baselines."""
    loop, cli = (median(runs, lambda r: r.seconds) for runs in list(measured.values())[:2])
    print(
        "| run | seconds (wall, end to end) | pages/s | speed, to the bare loop | to trafilatura's command line "
        "| first article stored | CPU ms per page (process tree) | peak memory (process tree) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for label, runs in measured.items():
        seconds = median(runs, lambda r: r.seconds)
        first = median(runs, lambda r: r.first_stored) if runs[0].first_stored is not None else None
        print(
            f"| {label} | {seconds:.1f} | {count / seconds:.1f} | {loop / seconds:.2f} | {cli / seconds:.2f} "
            f"| {f'{first:.1f} s' if first is not None else '-'} | {median(runs, lambda r: r.tree_cpu) * 1000 / count:.1f} "
            f"| {max(r.peak_rss for r in runs) / 2**20:.0f} MB |"
        )


def print_stages(measured: dict[str, list[Measured]], count: int) -> None:
    """CPU ms per page: each stage, from the run's counters, and the crawl's
    own process, from outside."""
    sieve = {label: runs for label, runs in measured.items() if runs[0].stats}
    stages = sorted({key for runs in sieve.values() for key in runs[0].stats if key.startswith("sieve/cpu_us/")})
    print("| CPU ms per page | " + " | ".join(sieve) + " |")
    print("|---|" + "---|" * len(sieve))
    for key in stages:
        cells = [f"{median(runs, lambda r, key=key: r.stats.get(key, 0)) / 1000 / count:.2f}" for runs in sieve.values()]
        print(f"| stage {key.removeprefix('sieve/cpu_us/')} | " + " | ".join(cells) + " |")
    own = {label: median(runs, lambda r: r.own_cpu) * 1000 / count for label, runs in sieve.items()}
    print("| the crawl's own process (all of the above when it has no workers) | " + " | ".join(f"{v:.2f}" for v in own.values()) + " |")
    print("| ceiling the crawl's process sets, pages/s | " + " | ".join(f"{1000 / v:.0f}" for v in own.values()) + " |")

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

        output = Path(tmp) / "trafilatura-output"
        cli = str(Path(sys.executable).with_name("trafilatura"))
        options = "--json --with-metadata --no-comments --deduplicate"
        cases = {
            "bare trafilatura.extract loop, one process": [sys.executable, "-c", BARE_LOOP, str(pages)],
            # A fresh output folder each run: trafilatura skips files it has written.
            f"trafilatura's command line, --parallel {cpus} ({options})": [
                "sh", "-c", f'rm -rf "{output}" && exec "{cli}" --input-dir "{pages}" --output-dir "{output}" --parallel {cpus} {options}',
            ],
        }  # fmt: skip
        for workers in range(cpus, -1, -1):
            label = f"scrapy crawl files, SIEVE_WORKERS={workers}" + (" (default)" if workers == cpus else "")
            cases[label] = [
                SCRAPY, "crawl", "files", "-a", f"path={pages}",
                "-s", "LOG_LEVEL=WARNING", "-s", f"SIEVE_WORKERS={workers}",
            ]  # fmt: skip
        measured = interleaved(cases, args.rounds, Path(tmp))

    print(f"\n## Throughput: {count} pages ({len(sources)} real pages x {args.copies}), {cpus} CPUs, median of {args.rounds} rounds\n")
    print_table(measured, count)
    print()
    print_stages(measured, count)


if __name__ == "__main__":
    main()
