"""Take the screenshots of Datasette that docs/database.md shows.

Crawls the bundled examples (examples/articles) into a temporary folder,
serves that database with ``datasette serve --metadata datasette.yaml`` as
docs/database.md says, and writes headless Chromium screenshots of the
article list, a search and an article page to docs/images/. From the
repository root::

    apt-get install chromium    # Debian; any Chromium or Chrome will do
    python docs/datasette_screenshots.py

A tool for the docs, not part of Sieve's set-up: the README's install
commands do not install Chromium.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
IMAGES = REPO / "docs" / "images"
#: The browser window, in CSS pixels: the size of each screenshot.
WINDOW = (1280, 800)
#: The most a screenshot may weigh: they are kept in the repository.
MAX_BYTES = 200_000
#: A word of four of the five example articles, whose ranks differ from their order by id.
SEARCH = "million"
#: The article whose page is shown, by its title.
ARTICLE_TITLE = "Riverton council approves budget with three new bus routes"
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def browser() -> str:
    for name in BROWSERS:
        if path := shutil.which(name):
            return path
    sys.exit(f"no browser found ({', '.join(BROWSERS)}): install one, e.g. apt-get install chromium")


def crawl(db: Path) -> None:
    command = [sys.executable, "-m", "scrapy", "crawl", "files", "-a", "path=examples/articles", "-s", f"SIEVE_DB={db}"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300)
    if result.returncode != 0:
        sys.exit(f"the crawl failed:\n{result.stderr[-4000:]}")


def start_datasette(db: Path, log: Path) -> tuple[subprocess.Popen, str]:
    """``datasette serve`` on a port the system chooses (``-p 0``), and its
    address, which Uvicorn writes to the log once it listens."""
    command = [sys.executable, "-m", "datasette", "serve", str(db), "--metadata", "datasette.yaml", "-p", "0"]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if match := re.search(r"Uvicorn running on (http://[\d.]+:\d+)", log.read_text()):
            base = match.group(1)
            with urllib.request.urlopen(f"{base}/-/versions.json", timeout=10) as response:
                response.read()
            return process, base
        if process.poll() is not None:
            break
        time.sleep(0.1)
    process.terminate()
    sys.exit(f"datasette did not start:\n{log.read_text()}")


def screenshot(chromium: str, url: str, path: Path, profile: Path) -> None:
    command = [
        chromium, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
        f"--user-data-dir={profile}", f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--screenshot={path}", url,
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0 or not path.exists():
        sys.exit(f"{chromium} could not take {path.name}:\n{result.stderr[-4000:]}")


def main() -> None:
    chromium = browser()
    IMAGES.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sieve-screenshots-") as tmp:
        folder = Path(tmp)
        db = folder / "sieve.db"  # "sieve" in the URLs, as in datasette.yaml
        crawl(db)
        with sqlite3.connect(db) as conn:
            [(article_id,)] = conn.execute("SELECT id FROM clean_articles WHERE title = ?", [ARTICLE_TITLE]).fetchall()
        process, base = start_datasette(db, folder / "datasette.log")
        try:
            pages = {
                "datasette-articles.png": f"{base}/sieve/browse",
                "datasette-search.png": f"{base}/sieve/browse?search={SEARCH}",
                "datasette-article.png": f"{base}/sieve/article?id={article_id}",
            }
            for name, url in pages.items():
                screenshot(chromium, url, IMAGES / name, folder / "chromium")
        finally:
            process.terminate()
            process.wait(timeout=10)
    too_big = []
    for name in pages:
        size = os.path.getsize(IMAGES / name)
        print(f"docs/images/{name}: {size:,} bytes")
        if size > MAX_BYTES:
            too_big.append(name)
    if too_big:
        sys.exit(f"over {MAX_BYTES:,} bytes: {', '.join(too_big)}; make WINDOW smaller")


if __name__ == "__main__":
    main()
