"""Incremental runs: a 500-article local site crawled twice, and what the
second run downloaded and wrote.

    python bench/recrawl.py [--articles 500]

The site is served on 127.0.0.1 by the tests' fixture server: a home page
linking to listing pages of 25 articles each, and the articles, whose text
comes from the article-extraction benchmark (``../shared/bench``, read at
run time). It is crawled twice with ``scrapy crawl site`` and twice with
``scrapy crawl sitemap``, each pair into a fresh database; the table gives
the second run's full downloads and article writes against the first run's.
"""

from __future__ import annotations

import argparse
import html
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.fixture_site import Resource, SiteServer  # noqa: E402

DATA = REPO.parent / "shared" / "bench" / "article-extraction" / "ground-truth.json"
PER_LISTING = 25


def build(bodies: list[str], articles: int):
    def builder(base: str) -> dict[str, Resource]:
        def page(title: str, body: str, og_type: str) -> bytes:
            return (
                f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
                f'<meta property="og:type" content="{og_type}"></head><body><nav><a href="/">Home</a></nav>'
                f"<main>{body}</main><footer>Bench Times</footer></body></html>"
            ).encode()

        site: dict[str, Resource] = {"/robots.txt": Resource(content_type="text/plain", body=f"User-agent: *\nSitemap: {base}/sitemap.xml\n".encode())}
        paths = [f"/story/{n:04d}.html" for n in range(articles)]
        for n, path in enumerate(paths):
            paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in bodies[n % len(bodies)].split("\n") if p.strip())
            # Stories reuse bodies when there are more stories than bodies; a number keeps them apart.
            body = f"<article><h1>Story {n}</h1><p>Story number {n} of the bench site.</p>{paragraphs}</article>"
            site[path] = Resource(body=page(f"Story {n}", body, "article"))
        listings = [paths[i : i + PER_LISTING] for i in range(0, len(paths), PER_LISTING)]
        for n, chunk in enumerate(listings):
            links = "".join(f'<li><a href="{p}">Story {p}</a></li>' for p in chunk)
            site[f"/list/{n}.html"] = Resource(body=page(f"List {n}", f"<ul>{links}</ul>", "website"))
        home = "".join(f'<a href="/list/{n}.html">Page {n}</a> ' for n in range(len(listings)))
        site["/"] = Resource(body=page("Bench Times", home, "website"))
        urls = "".join(f"<url><loc>{base}{p}</loc><lastmod>2024-03-01</lastmod></url>" for p in paths)
        site["/sitemap.xml"] = Resource(
            content_type="application/xml",
            body=f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'.encode(),
        )
        return site

    return builder


def crawl(spider: str, url: str, db: Path) -> tuple[dict, float]:
    command = [sys.executable, "-m", "scrapy", "crawl", spider, "-a", f"url={url}", "-s", f"SIEVE_DB={db}",
               "-s", "AUTOTHROTTLE_ENABLED=False", "-s", "DOWNLOAD_DELAY=0", "-s", "CONCURRENT_REQUESTS_PER_DOMAIN=8",
               "-s", "SIEVE_CONTACT=bench@sieve.invalid", "-s", "LOG_LEVEL=WARNING"]
    started = time.perf_counter()
    subprocess.run(command, cwd=REPO, check=True)
    elapsed = time.perf_counter() - started
    conn = sqlite3.connect(db)
    stats = json.loads(conn.execute("SELECT stats FROM runs ORDER BY id DESC LIMIT 1").fetchone()[0])
    conn.close()
    return stats, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=500)
    parser.add_argument("--data", type=Path, default=DATA)
    args = parser.parse_args()
    bodies = [entry["articleBody"] for entry in json.loads(args.data.read_text()).values()]
    server = SiteServer(build(bodies, args.articles))
    server.start()
    pages = len(server.resources) - 2  # robots.txt and the sitemap are not pages
    print(f"\n## {args.articles} articles, {pages} pages in all, each crawl run twice\n")
    print(
        "| spider | run | full downloads (200) | not modified (304) | skipped as unchanged | articles written "
        "| written / pages | store stage, CPU ms | seconds |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    try:
        for spider, url in [("site", f"{server.base}/"), ("sitemap", f"{server.base}/sitemap.xml")]:
            with tempfile.TemporaryDirectory() as tmp:
                for run in (1, 2):
                    stats, seconds = crawl(spider, url, Path(tmp) / "sieve.db")
                    full = stats.get("downloader/response_status_count/200", 0) - 1  # minus robots.txt
                    if spider == "sitemap":
                        full -= 1  # the sitemap itself
                    unchanged = sum(v for k, v in stats.items() if k.startswith("sieve/unchanged/"))
                    written = stats.get("sieve/articles_stored", 0)
                    print(
                        f"| {spider} | {run} | {full} ({full / pages:.1%}) | {stats.get('downloader/response_status_count/304', 0)} "
                        f"| {unchanged} | {written} | {written / pages:.1%} "
                        f"| {stats.get('sieve/cpu_us/StorePipeline', 0) / 1000:.0f} | {seconds:.1f} |"
                    )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
