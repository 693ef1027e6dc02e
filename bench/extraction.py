"""Extraction quality: the article text Sieve stores for the 181 pages of the
article-extraction benchmark, scored against its ground truth with that
benchmark's metric, beside bare trafilatura in the same run.

    python bench/extraction.py

The pages (``../shared/bench/article-extraction/html/*.html.gz``, read at run
time) go through ``scrapy crawl files`` into a temporary database; a page
Sieve skipped counts as an empty text. The metric, as the benchmark defines
it: the texts are cut into word 4-grams (a word is ``\\w+``); per page, true
positives, false positives and false negatives are counted over the multisets
of 4-grams and normalised by their sum; precision and recall are averaged
over the pages; F1 is computed from the two averages.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "bench" / "article-extraction"
WORD = re.compile(r"\w+")


def four_grams(text: str) -> Counter[tuple[str, ...]]:
    words = WORD.findall(text or "")
    return Counter(tuple(words[i : i + 4]) for i in range(max(1, len(words) - 3)) if words[i : i + 4])


def page_counts(truth: str, predicted: str) -> tuple[float, float, float]:
    expected, got = four_grams(truth), four_grams(predicted)
    tp = sum((expected & got).values())
    fp = sum((got - expected).values())
    fn = sum((expected - got).values())
    total = tp + fp + fn
    return (tp / total, fp / total, fn / total) if total else (0.0, 0.0, 0.0)


def score(counts: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    def precision(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (0.0 if tp == fp == 0 else tp / (tp + fp))

    def recall(tp: float, fp: float, fn: float) -> float:
        return 1.0 if fp == fn == 0 else (0.0 if tp == fn == 0 else tp / (tp + fn))

    p = statistics.mean(precision(*c) for c in counts if c[0] + c[1] > 0)
    r = statistics.mean(recall(*c) for c in counts if c[0] + c[2] > 0)
    return p, r, 2 * p * r / (p + r)


def bare_trafilatura(pages: dict[str, str], **options) -> tuple[dict[str, str], float]:
    import trafilatura

    started = time.perf_counter()
    texts = {key: trafilatura.extract(html, **options) or "" for key, html in pages.items()}
    return texts, time.perf_counter() - started


def sieve(html_dir: Path) -> tuple[dict[str, str], float, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sieve.db"
        command = [sys.executable, "-m", "scrapy", "crawl", "files", "-a", f"path={html_dir}", "-s", f"SIEVE_DB={db}", "-s", "LOG_LEVEL=WARNING"]
        started = time.perf_counter()
        subprocess.run(command, cwd=REPO, check=True)
        elapsed = time.perf_counter() - started
        conn = sqlite3.connect(db)
        texts = {Path(url).name.split(".")[0]: text for url, text in conn.execute("SELECT url, text FROM articles")}
        stats = json.loads(conn.execute("SELECT stats FROM runs").fetchone()[0])
        conn.close()
    return texts, elapsed, stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    truth = {key: entry["articleBody"] for key, entry in json.loads((args.data / "ground-truth.json").read_text()).items()}
    # As the benchmark's own trafilatura runner reads them.
    pages = {path.name.split(".")[0]: gzip.decompress(path.read_bytes()).decode("utf-8") for path in sorted((args.data / "html").glob("*.html.gz"))}

    rows = []
    # trafilatura's own defaults include comments; the benchmark's trafilatura
    # runner leaves them out, as Sieve does.
    for name, options in [
        ("trafilatura 2.3 default", {}),
        ("trafilatura favor_precision", {"favor_precision": True}),
        ("trafilatura, comments off (the benchmark's runner)", {"include_comments": False}),
        ("trafilatura favor_precision, comments off", {"include_comments": False, "favor_precision": True}),
    ]:
        texts, seconds = bare_trafilatura(pages, **options)
        rows.append((name, texts, seconds))
    texts, seconds, stats = sieve(args.data / "html")
    rows.append(("Sieve (scrapy crawl files, stored text)", texts, seconds))

    print(f"\n## Article extraction benchmark: {len(truth)} pages\n")
    print("| extractor | precision | recall | F1 | pages without text | seconds |")
    print("|---|---|---|---|---|---|")
    for name, texts, seconds in rows:
        p, r, f1 = score([page_counts(truth[key], texts.get(key, "")) for key in truth])
        empty = sum(1 for key in truth if not texts.get(key))
        print(f"| {name} | {p:.4f} | {r:.4f} | {f1:.4f} | {empty} | {seconds:.1f} |")
    removed = {k.removeprefix("sieve/paragraphs_removed/"): v for k, v in stats.items() if k.startswith("sieve/paragraphs_removed/")}
    print(f"\nSieve removed, by reason: {json.dumps(removed, sort_keys=True)}; skipped: "
          f"{ {k.removeprefix('sieve/skipped/'): v for k, v in stats.items() if k.startswith('sieve/skipped/')} }; "
          f"full-mode second chances: {stats.get('sieve/extract/full_mode', 0)}")


if __name__ == "__main__":
    main()
