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
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.throughput import DATA, interleaved, print_table, sieve_db  # noqa: E402

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
        rows = interleaved(cases, args.rounds, Path(tmp))
        with sqlite3.connect(sieve_db(Path(tmp), 1, 0)) as db:
            documents = db.execute("SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM skipped)").fetchone()
    print(f"\n## WARC: {count} response records ({len(sources)} real pages x {args.copies}), {size / 2**20:.0f} MB .warc.gz, {cpus} CPUs, median of {args.rounds} rounds\n")
    print_table(rows, count)
    print(f"\nSieve accounted for {sum(documents)} of {count} records: {documents[0]} articles, {documents[1]} skipped.")


if __name__ == "__main__":
    main()
