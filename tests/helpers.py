"""What the tests share that is not a fixture: paths, how to run a crawl
or a command as a user would, how to read what it stored, test data."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


FIXTURES = Path(__file__).resolve().parent / "fixtures"


def read_rows(db_path: Path, sql: str, params: tuple = ()) -> list[sqlite3.Row]:
    conn = sqlite3.connect(db_path)
    conn.row_factory = sqlite3.Row
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def last_run_stats(db_path: Path) -> dict:
    """The stats the last run of ``db_path`` kept (``runs.stats``)."""
    return json.loads(read_rows(db_path, "SELECT stats FROM runs ORDER BY id DESC LIMIT 1")[0][0])


def scrapy_crawl(
    spider: str,
    *,
    db: Path,
    args: dict[str, str] | None = None,
    settings: dict[str, str] | None = None,
    cwd: Path = REPO,
    timeout: float = 120,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``scrapy crawl`` as a user would, in a subprocess, into ``db``,
    in the default mode (worker processes) unless ``settings`` say otherwise."""
    command = crawl_command(spider, db, args, settings)
    env = {**os.environ, "PYTHONWARNINGS": "always::DeprecationWarning", **(env or {})}
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    # Deprecation warnings inside the crawl would not reach pytest's filter.
    assert "DeprecationWarning" not in result.stderr, result.stderr
    return result


def project_crawler(**overrides):
    """A Scrapy crawler with Sieve's settings (and ``overrides``), for building
    pipeline stages in-process."""
    from scrapy.utils.test import get_crawler

    import settings as project_settings

    values = {name: getattr(project_settings, name) for name in dir(project_settings) if name.isupper()}
    return get_crawler(settings_dict={**values, **overrides})


#: Settings for crawling the local fixture site quickly: no politeness delays.
FAST_WEB = {"AUTOTHROTTLE_ENABLED": "False", "DOWNLOAD_DELAY": "0", "SIEVE_MAX_BYTES": "200000", "SIEVE_CONTACT": "tests@sieve.invalid"}


WORDS = (
    "council budget river bridge library school station market harbour festival mayor police court hospital "
    "museum stadium airport railway factory garden theatre bakery village county teacher doctor farmer "
    "engineer student reporter approved opened closed delayed rebuilt cancelled announced expanded visited"
).split()


def slow_stages() -> dict[str, str]:
    """Settings that make a crawl take tests.fault_stages.SlowStage's time
    over each page, so that a test can act while it runs."""
    import json

    import settings as project_settings

    return {"ITEM_PIPELINES": json.dumps({"tests.fault_stages.SlowStage": 50, **project_settings.ITEM_PIPELINES})}


def write_articles(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """``count`` distinct plain-text articles: a title and four paragraphs of
    sentences drawn at random, so no two are near-duplicates."""
    import random

    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        title = " ".join(rng.choice(WORDS) for _ in range(6)).capitalize()
        paragraphs = [
            " ".join((" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + ".") for _ in range(3))
            for _ in range(4)
        ]
        path = folder / f"article-{seed}-{n:04d}.txt"
        path.write_text("\n\n".join([title, *paragraphs]) + "\n")
        paths.append(path)
    return paths


def crawl_command(
    spider: str, db: Path, args: dict[str, str] | None = None, settings: dict[str, str] | None = None
) -> list[str]:
    command = [sys.executable, "-m", "scrapy", "crawl", spider, "-s", f"SIEVE_DB={db}"]
    for name, value in (args or {}).items():
        command += ["-a", f"{name}={value}"]
    for name, value in (settings or {}).items():
        command += ["-s", f"{name}={value}"]
    return command


def scrapy_command(*args: str, db: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run another ``scrapy`` command (export, runs, stats) on ``db``."""
    command = [sys.executable, "-m", "scrapy", *args, "-s", f"SIEVE_DB={db}"]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=timeout)
