"""Extraction quality: the article text Sieve stores for the pages of each
labelled set in ``../shared/bench/`` (the article-extraction benchmark,
l3s-gn1, dragnet, and any folder laid out the same way: ``html/<key>.html.gz``
and ``ground-truth.json`` with an ``articleBody`` per key), scored against
the ground truth beside trafilatura and readability-lxml in the same run.

    python bench/extraction.py                       # every shared set
    python bench/extraction.py --sets l3s-gn1 dragnet --worst 20
    python bench/extraction.py -s SIEVE_FAVOR_PRECISION=True   # Sieve with a setting

The metric, as the article-extraction benchmark defines it: the texts are
cut into word 4-grams (a word is ``\\w+``); per page, true positives, false
positives and false negatives are counted over the multisets of 4-grams and
normalised by their sum; precision and recall are averaged over the pages;
F1 is computed from the two averages. A page an extractor gives no text for
(Sieve: skipped) counts as an empty text. "pooled" averages over the pages
of every set together.

Sieve's text is what ``scrapy crawl files`` stores; the other extractors run
on the same bytes in this process's pool (``--cache DIR`` keeps their texts
between runs: they do not change when Sieve does).

readability-lxml is the benchmark's alone, installed apart: 0.9 asks for
``lxml[html_clean]``, an extra lxml 6 no longer declares, on which pip's
resolver fails, so::

    pip install --no-deps 'readability-lxml==0.9' chardet cssselect
"""

from __future__ import annotations

import argparse
import gzip
import json
import multiprocessing
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "bench"
SETS = ("article-extraction", "l3s-gn1", "dragnet")
WORD = re.compile(r"\w+")
sys.path.insert(0, str(REPO))


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


def precision(tp: float, fp: float, fn: float) -> float:
    return 1.0 if fp == fn == 0 else (0.0 if tp == fp == 0 else tp / (tp + fp))


def recall(tp: float, fp: float, fn: float) -> float:
    return 1.0 if fp == fn == 0 else (0.0 if tp == fn == 0 else tp / (tp + fn))


def score(counts: list[tuple[float, float, float]]) -> tuple[float, float, float]:
    p = statistics.mean(precision(*c) for c in counts if c[0] + c[1] > 0)
    r = statistics.mean(recall(*c) for c in counts if c[0] + c[2] > 0)
    return p, r, 2 * p * r / (p + r)


def page_f1(counts: tuple[float, float, float]) -> float:
    p, r = precision(*counts), recall(*counts)
    return 2 * p * r / (p + r) if p + r else 0.0


# --- the other extractors, on the same bytes -------------------------------


def trafilatura_default(html: bytes) -> str:
    import trafilatura

    return trafilatura.extract(html) or ""


def trafilatura_fast(html: bytes) -> str:
    import trafilatura

    return trafilatura.extract(html, fast=True, include_comments=False) or ""


def trafilatura_precision(html: bytes) -> str:
    import trafilatura

    return trafilatura.extract(html, favor_precision=True, include_comments=False) or ""


def readability(html: bytes) -> str:
    from readability import Document
    from trafilatura.utils import decode_file

    from pipelines.text import html_lines

    try:
        return "\n".join(html_lines(Document(decode_file(html)).summary(html_partial=True)))
    except Exception:  # readability raises on pages it cannot parse
        return ""


EXTRACTORS = {
    "trafilatura 2.3 default": trafilatura_default,
    "trafilatura fast, comments off": trafilatura_fast,
    "trafilatura favor_precision, comments off": trafilatura_precision,
    f"readability-lxml {version('readability-lxml')}": readability,
}


def _run_one(job: tuple[str, Path]) -> tuple[str, str, float]:
    name, path = job
    html = gzip.decompress(path.read_bytes())
    started = time.process_time()
    text = EXTRACTORS[name](html)
    return path.name.split(".")[0], text, time.process_time() - started


def others(name: str, folder: Path, cache: Path | None, pool: multiprocessing.pool.Pool) -> tuple[dict[str, str], float]:
    """An extractor's texts for a set, and its CPU seconds a page."""
    cached = cache / f"{folder.name}--{re.sub(r'[^a-z0-9]+', '-', name.lower())}.json" if cache else None
    if cached and cached.exists():
        data = json.loads(cached.read_text())
        return data["texts"], data["cpu_per_page"]
    results = pool.map(_run_one, [(name, path) for path in sorted((folder / "html").glob("*.html.gz"))], chunksize=8)
    texts = {key: text for key, text, _ in results}
    cpu = statistics.mean(seconds for _, _, seconds in results)
    if cached:
        cached.parent.mkdir(parents=True, exist_ok=True)
        cached.write_text(json.dumps({"texts": texts, "cpu_per_page": cpu}))
    return texts, cpu


def sieve(folder: Path, settings: list[str]) -> tuple[dict[str, str], float, dict]:
    """Sieve's stored texts for a set, the crawl's seconds a page, its stats."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sieve.db"
        command = [sys.executable, "-m", "scrapy", "crawl", "files", "-a", f"path={folder / 'html'}", "-s", f"SIEVE_DB={db}", "-s", "LOG_LEVEL=WARNING"]
        for setting in settings:
            command += ["-s", setting]
        started = time.perf_counter()
        subprocess.run(command, cwd=REPO, check=True)
        elapsed = time.perf_counter() - started
        conn = sqlite3.connect(db)
        texts = {Path(url).name.split(".")[0]: text for url, text in conn.execute("SELECT url, text FROM articles")}
        stats = json.loads(conn.execute("SELECT stats FROM runs").fetchone()[0])
        conn.close()
    return texts, elapsed / max(1, len(list((folder / "html").glob("*.html.gz")))), stats


def table(title: str, rows: list[tuple[str, list[tuple[float, float, float]], int, str]]) -> None:
    print(f"\n### {title}\n")
    print("| extractor | F1 | precision | recall | pages without text | ms a page |")
    print("|---|---|---|---|---|---|")
    for name, counts, empty, cost in sorted(rows, key=lambda row: -score(row[1])[2]):
        p, r, f1 = score(counts)
        print(f"| {name} | {f1:.4f} | {p:.4f} | {r:.4f} | {empty} | {cost} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sets", nargs="+", default=list(SETS), help="folders of ../shared/bench, or paths to sets laid out the same way")
    parser.add_argument("--cache", type=Path, help="keep the other extractors' texts here between runs")
    parser.add_argument("--worst", type=int, default=10, help="list the pages where Sieve loses most (default 10 a set)")
    parser.add_argument("-s", dest="settings", action="append", default=[], metavar="NAME=VALUE", help="a setting for Sieve's crawl")
    args = parser.parse_args()

    pooled: dict[str, list[tuple[float, float, float]]] = {}
    pooled_empty: Counter[str] = Counter()
    with multiprocessing.Pool(2) as pool:
        for name in args.sets:
            folder = Path(name) if Path(name).is_dir() else SHARED / name
            truth = {key: entry["articleBody"] for key, entry in json.loads((folder / "ground-truth.json").read_text()).items()}
            texts = {}
            costs = {}
            for extractor in EXTRACTORS:
                texts[extractor], cpu = others(extractor, folder, args.cache, pool)
                costs[extractor] = f"{cpu * 1000:.1f} CPU"
            texts["Sieve"], wall, stats = sieve(folder, args.settings)
            costs["Sieve"] = f"{wall * 1000:.1f} wall, 2 workers"
            rows = []
            for extractor, got in texts.items():
                counts = [page_counts(truth[key], got.get(key, "")) for key in truth]
                empty = sum(1 for key in truth if not got.get(key))
                rows.append((extractor, counts, empty, costs[extractor]))
                pooled.setdefault(extractor, []).extend(counts)
                pooled_empty[extractor] += empty
            table(f"{folder.name}: {len(truth)} pages", rows)
            removed = {k.removeprefix("sieve/paragraphs_removed/"): v for k, v in stats.items() if k.startswith("sieve/paragraphs_removed/")}
            print(f"\nSieve removed, by reason: {json.dumps(removed, sort_keys=True)}; full-mode second chances: {stats.get('sieve/extract/full_mode', 0)}")
            if args.worst:
                losses = []
                for key in truth:
                    mine = page_f1(page_counts(truth[key], texts["Sieve"].get(key, "")))
                    best, best_f1 = max(((e, page_f1(page_counts(truth[key], texts[e].get(key, "")))) for e in EXTRACTORS), key=lambda x: x[1])
                    losses.append((best_f1 - mine, key, mine, best, best_f1))
                print(f"\nWhere Sieve loses most ({folder.name}):\n")
                print("| page | Sieve F1 | best other | its F1 |")
                print("|---|---|---|---|")
                for _, key, mine, best, best_f1 in sorted(losses, reverse=True)[: args.worst]:
                    print(f"| {key} | {mine:.3f} | {best} | {best_f1:.3f} |")
    table(f"pooled: {len(next(iter(pooled.values())))} pages", [(e, c, pooled_empty[e], "") for e, c in pooled.items()])


if __name__ == "__main__":
    main()
