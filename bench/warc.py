"""WARC throughput: ``scrapy crawl warc`` end to end against a bare
one-process loop that reads the same WARC and calls ``trafilatura.extract``
on each record, in the same run.

    python bench/warc.py [--copies 6] [--rounds 2]

The records are the 181 pages of the article-extraction benchmark
(``../shared/bench/article-extraction/html``, read at run time), ``--copies``
times under other host names (1,086 records by default), written with
warcio to a temporary ``.warc.gz`` (one gzip member per record, as Common
Crawl writes them); nothing is kept. Both read it with fastwarc; Sieve's
time includes start-up, worker processes, cleaning, MinHash, cross-document
dedup (the copies are found as duplicates) and SQLite. Peak memory is that
of the process tree, sampled every 50 ms. Runs are interleaved, the table
shows medians.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
import sqlite3
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.throughput import DATA, run  # noqa: E402

BARE_LOOP = """
import sys, trafilatura
from fastwarc.warc import ArchiveIterator, WarcRecordType
with open(sys.argv[1], "rb") as stream:
    for record in ArchiveIterator(stream, record_types=WarcRecordType.response, parse_http=True, auto_decode="all"):
        trafilatura.extract(record.reader.read().decode("utf-8", errors="replace"))
"""


def write_warc(path: Path, sources: list[Path], copies: int) -> int:
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        writer.write_record(writer.create_warcinfo_record(path.name, {"software": "bench/warc.py"}))
        for copy in range(copies):
            for source in sources:
                body = gzip.decompress(source.read_bytes())
                url = f"https://copy{copy}.bench.example/{source.name.removesuffix('.html.gz')[:16]}.html"
                http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
                writer.write_record(writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http))
    return copies * len(sources)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--copies", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2, help="runs of each, interleaved; the table shows medians")
    args = parser.parse_args()
    sources = sorted(args.data.glob("*.html.gz"))
    cpus = len(os.sched_getaffinity(0))
    with tempfile.TemporaryDirectory() as tmp:
        warc = Path(tmp) / "bench.warc.gz"
        count = write_warc(warc, sources, args.copies)
        size = warc.stat().st_size
        cases = {
            "bare loop: fastwarc + trafilatura.extract, one process": [sys.executable, "-c", BARE_LOOP, str(warc)],
            f"scrapy crawl warc, SIEVE_WORKERS={cpus} (default)": [
                sys.executable, "-m", "scrapy", "crawl", "warc", "-a", f"path={warc}", "-s", "LOG_LEVEL=WARNING",
            ],
        }  # fmt: skip
        measured: dict[str, list[tuple[float, int]]] = {label: [] for label in cases}
        for round_number in range(args.rounds):
            for label, command in cases.items():
                if "scrapy" in command:
                    command = [*command, "-s", f"SIEVE_DB={Path(tmp) / f'sieve-{round_number}.db'}"]
                seconds, peak, _ = run(command)
                measured[label].append((seconds, peak))
                print(f"  round {round_number + 1}: {label}: {seconds:.1f} s", flush=True)
        with sqlite3.connect(Path(tmp) / "sieve-0.db") as db:
            documents = db.execute("SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM skipped)").fetchone()
    rows = [(label, statistics.median(s for s, _ in runs), max(p for _, p in runs)) for label, runs in measured.items()]
    bare = rows[0][1]
    print(f"\n## WARC: {count} response records ({len(sources)} real pages x {args.copies}), {size / 2**20:.0f} MB .warc.gz, {cpus} CPUs, median of {args.rounds} rounds\n")
    print("| run | seconds (wall, end to end) | pages/s | ratio to bare loop | peak memory (process tree) |")
    print("|---|---|---|---|---|")
    for label, seconds, peak in rows:
        print(f"| {label} | {seconds:.1f} | {count / seconds:.1f} | {bare / seconds:.2f} | {peak / 2**20:.0f} MB |")
    print(f"\nSieve accounted for {sum(documents)} of {count} records: {documents[0]} articles, {documents[1]} skipped.")


if __name__ == "__main__":
    main()
