"""Scrapy's own tools on Sieve's project (crawler/commands/: shell, fetch,
view, parse, check, genspider): they work, and write nothing to the
database unless they send pages through Sieve's stages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import FAST_WEB, REPO, read_rows, scrapy_crawl

STORY = "/news/bridge-closure-extended.html"


def scrapy(*args: str, db: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "scrapy", *args, "-s", f"SIEVE_DB={db}"]
    for name, value in FAST_WEB.items():
        command += ["-s", f"{name}={value}"]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120, env={**os.environ, **(env or {})})


def test_shell_fetch_and_view_work_and_write_no_database(site, tmp_path):
    db = tmp_path / "sieve.db"
    shell = scrapy("shell", f"{site.base}{STORY}", "--nolog", "-c", "(response.status, response.css('h1::text').get())", db=db)
    assert shell.returncode == 0, shell.stderr
    assert "(200, 'Main Street bridge closure extended through May')" in shell.stdout
    fetch = scrapy("fetch", "--nolog", f"{site.base}{STORY}", db=db)
    assert fetch.returncode == 0 and "<h1>Main Street bridge closure" in fetch.stdout
    view = scrapy("view", "--nolog", f"{site.base}{STORY}", db=db, env={"BROWSER": "true"})
    assert view.returncode == 0, view.stderr
    assert not db.exists()


def test_parse_with_a_web_spider_needs_none_of_its_arguments(site, tmp_path):
    db = tmp_path / "sieve.db"
    result = scrapy("parse", "--spider=urls", "--nolog", f"{site.base}{STORY}", db=db)
    assert result.returncode == 0, result.stderr
    assert "'kind': 'html'" in result.stdout and f"'url': '{site.base}{STORY}'" in result.stdout
    assert not db.exists()


def test_parse_with_pipelines_stores_the_page_through_the_stages(site, tmp_path):
    db = tmp_path / "sieve.db"
    result = scrapy("parse", "--spider=urls", "--pipelines", "--nolog", f"{site.base}{STORY}", db=db)
    assert result.returncode == 0, result.stderr
    assert [r["title"] for r in read_rows(db, "SELECT title FROM articles")] == ["Main Street bridge closure extended through May"]


def test_check_runs_the_web_spiders_contracts_on_the_url_given(site, tmp_path):
    db = tmp_path / "sieve.db"
    for spider, path in [("site", "/"), ("sitemap", "/sitemap_index.xml"), ("feed", "/feeds/news.xml")]:
        result = scrapy("check", spider, "-a", f"url={site.base}{path}", db=db)
        assert result.returncode == 0, result.stderr
        assert "Ran " in result.stderr and "\nOK" in result.stderr and "Ran 0 contracts" not in result.stderr
    assert not db.exists()


def test_check_without_the_url_says_to_give_it(tmp_path):
    result = scrapy("check", "site", db=tmp_path / "sieve.db")
    assert result.returncode == 1
    assert "site.parse_page: give the URL to check with -a url=URL" in result.stderr


def test_contract_that_fails_fails_the_check(site, tmp_path):
    # A PDF given to the site spider as its start page: no links to follow.
    result = scrapy("check", "site", "-a", f"url={site.base}/download/annual-report", db=tmp_path / "sieve.db")
    assert result.returncode == 1
    assert "FAILED" in result.stderr


def test_genspider_template_crawls_the_site_and_passes_its_contracts(site, tmp_path):
    package = tmp_path / "own_spiders"
    package.mkdir()
    (package / "__init__.py").write_text("")
    env = {"PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    modules = ["-s", "NEWSPIDER_MODULE=own_spiders", "-s", "SPIDER_MODULES=own_spiders"]
    made = scrapy("genspider", "-t", "sieve", "gazette", f"{site.base}/", *modules, db=tmp_path / "sieve.db", env=env)
    assert made.returncode == 0, made.stderr
    assert (package / "gazette.py").exists()
    checked = scrapy("check", "gazette", *modules, db=tmp_path / "sieve.db", env=env)
    assert checked.returncode == 0 and "\nOK" in checked.stderr, checked.stderr
    db = tmp_path / "sieve.db"
    crawled = scrapy_crawl("gazette", db=db, settings={**FAST_WEB, "SPIDER_MODULES": "own_spiders"}, env=env)
    assert crawled.returncode == 0, crawled.stderr
    stored = {r["url"].removeprefix(site.base) for r in read_rows(db, "SELECT url FROM articles")}
    assert {"/news/council-approves-budget.html", "/news/library-reopens.html"} <= stored
    skipped = {r["url"].removeprefix(site.base): r["reason"] for r in read_rows(db, "SELECT url, reason FROM skipped")}
    assert skipped["/"] == "not-an-article" and skipped["/download/annual-report"] == "unsupported-type"
