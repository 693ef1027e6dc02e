"""What downstream readers get: Scrapy's feed exports (-o) write one clean
record per stored article, the record `scrapy export` writes."""

from __future__ import annotations

import csv
import json
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from crawler.commands.export import FIELDS
from tests.conftest import FAST_WEB, REPO, crawl_command, read_rows, scrapy_crawl


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[Path, dict[str, Path]]:
    """The examples crawled once with a -o feed in each format."""
    folder = tmp_path_factory.mktemp("feeds")
    outputs = {fmt: folder / f"articles.{fmt}" for fmt in ("jsonl", "json", "csv", "xml")}
    command = crawl_command("files", folder / "sieve.db", {"path": str(REPO / "examples" / "articles")}, {"SIEVE_WORKERS": "0"})
    for path in outputs.values():
        command += ["-O", str(path)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return folder / "sieve.db", outputs


def records(fmt: str, path: Path) -> list[dict]:
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    if fmt == "json":
        return json.loads(path.read_text())
    if fmt == "csv":
        with path.open(newline="") as stream:
            return [{**row, "paragraphs": json.loads(row["paragraphs"])} for row in csv.DictReader(stream)]
    return [{child.tag: child.text for child in item} for item in ET.parse(path).getroot()]


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "xml"])
def test_feed_export_has_one_record_per_stored_article(exported, fmt):
    db, outputs = exported
    urls = {row["url"] for row in read_rows(db, "SELECT url FROM articles")}
    assert sorted(record["url"] for record in records(fmt, outputs[fmt])) == sorted(urls)


@pytest.mark.parametrize("fmt", ["jsonl", "json", "csv", "xml"])
def test_feed_export_records_carry_the_export_fields_and_nothing_internal(exported, fmt):
    _, outputs = exported
    for record in records(fmt, outputs[fmt]):
        assert list(record) == FIELDS


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_feed_export_text_and_paragraphs_are_the_stored_ones(exported, fmt):
    db, outputs = exported
    stored = {row["url"]: row["text"] for row in read_rows(db, "SELECT url, text FROM articles")}
    for record in records(fmt, outputs[fmt]):
        assert record["text"] == stored[record["url"]]
        assert record["paragraphs"] == stored[record["url"]].split("\n\n")


def test_skipped_documents_are_not_exported(tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "good.txt").write_text((REPO / "examples" / "articles" / "000_257973ebbd4cd4c4.txt").read_text())
    (tmp_path / "in" / "empty.txt").write_text("   \n")
    command = crawl_command("files", tmp_path / "sieve.db", {"path": str(tmp_path / "in")}, {"SIEVE_WORKERS": "0"})
    result = subprocess.run([*command, "-O", str(tmp_path / "out.jsonl")], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    exported = [json.loads(line)["url"] for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert exported == [(tmp_path / "in" / "good.txt").as_uri()]
    assert read_rows(tmp_path / "sieve.db", "SELECT reason FROM skipped")[0]["reason"] == "empty"


# --- dead seeds fail a scheduled run -------------------------------------------------


@pytest.mark.parametrize(
    ("spider", "seed", "reason"),
    [
        ("site", "http://127.0.0.1:9/", "network-error"),
        ("feed", "{base}/news/missing-feed.xml", "http-404"),
        ("feed", "{base}/news/", "bad-feed"),
        ("sitemap", "{base}/about/", "bad-sitemap"),
    ],
    ids=["unreachable-site", "feed-404", "not-a-feed", "not-a-sitemap"],
)
def test_dead_seed_is_recorded_and_fails_the_run(site, tmp_path, spider, seed, reason):
    url = seed.format(base=site.base)
    db = tmp_path / "sieve.db"
    result = scrapy_crawl(spider, db=db, args={"url": url}, settings={**FAST_WEB, "RETRY_ENABLED": "False"})
    assert result.returncode == 1
    [row] = read_rows(db, "SELECT url, reason, detail FROM skipped")
    assert (row["url"], row["reason"]) == (url, reason)
    assert row["detail"].startswith("seed of this run: ")
    [run] = read_rows(db, "SELECT status, stats FROM runs")
    assert run["status"] == "failed" and json.loads(run["stats"])["sieve/seeds/dead"] == 1


def test_run_that_finds_nothing_changed_exits_zero(site, tmp_path):
    db = tmp_path / "sieve.db"
    for _ in range(2):
        result = scrapy_crawl("feed", db=db, args={"url": f"{site.base}/feeds/news.xml"}, settings=FAST_WEB)
        assert result.returncode == 0, result.stderr
    stats = json.loads(read_rows(db, "SELECT stats FROM runs WHERE id = 2")[0]["stats"])
    assert "sieve/articles_stored" not in stats and stats.get("sieve/seeds/dead") is None
