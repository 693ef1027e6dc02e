"""`scrapy export` writes Scrapy's feed formats, the same shape as
`scrapy crawl -O FILE` gives, and ends quietly in a pipeline whose reader
stops early."""

from __future__ import annotations

import csv
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.helpers import REPO, crawl_command, read_rows, write_articles

#: What a pipe holds before its writer blocks (Linux).
PIPE_BUFFER = 64 * 1024


@pytest.fixture(scope="module")
def crawled(tmp_path_factory) -> tuple[Path, Path]:
    """The examples and more generated articles than a pipe holds, crawled
    once with a JSON and an XML feed (crawl.json, crawl.xml): the database
    and the folder the feeds are in."""
    folder = tmp_path_factory.mktemp("export")
    articles = folder / "articles"
    write_articles(articles, 80)
    for path in (REPO / "examples" / "articles").iterdir():
        shutil.copy(path, articles)
    command = crawl_command("files", folder / "sieve.db", {"path": str(articles)}, {"SIEVE_WORKERS": "0"})
    command += ["-O", str(folder / "crawl.json"), "-O", str(folder / "crawl.xml")]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return folder / "sieve.db", folder


def export_command(db: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "scrapy", "export", *args, "-s", f"SIEVE_DB={db}"]


def export(db: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``scrapy export`` as a user would; deprecation warnings in it
    would not reach pytest's filter, so they fail here."""
    env = {**os.environ, "PYTHONWARNINGS": "always::DeprecationWarning"}
    result = subprocess.run(export_command(db, *args), cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert "DeprecationWarning" not in result.stderr, result.stderr
    return result


def clean_ids(db: Path) -> list[int]:
    return [row["id"] for row in read_rows(db, "SELECT id FROM clean_articles ORDER BY id")]


def ids_in(path: Path, fmt: str) -> list[int]:
    """The record ids a file holds, read as ``fmt``."""
    text = path.read_text(encoding="utf-8")
    if fmt == "jsonl":
        return [json.loads(line)["id"] for line in text.splitlines()]
    if fmt == "json":
        return [record["id"] for record in json.loads(text)]
    if fmt == "csv":
        return [int(row["id"]) for row in csv.DictReader(text.splitlines())]
    return [int(item.find("id").text) for item in ET.fromstring(text)]


def test_json_output_is_one_json_array(crawled, tmp_path):
    db, _ = crawled
    assert export(db, "-o", str(tmp_path / "out.json")).returncode == 0
    records = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert [record["id"] for record in records] == clean_ids(db)


def test_json_output_of_no_records_is_an_empty_array(crawled):
    db, _ = crawled
    result = export(db, "--format", "json", "--since", "2999-01-01")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_json_output_matches_crawl_feed(crawled, tmp_path):
    db, feeds = crawled
    assert export(db, "-o", str(tmp_path / "out.json")).returncode == 0
    assert (tmp_path / "out.json").read_bytes() == (feeds / "crawl.json").read_bytes()


def test_xml_output_matches_crawl_feed(crawled, tmp_path):
    db, feeds = crawled
    assert export(db, "-o", str(tmp_path / "out.xml")).returncode == 0
    assert (tmp_path / "out.xml").read_bytes() == (feeds / "crawl.xml").read_bytes()


def test_xml_output_writes_a_list_as_value_elements(crawled, tmp_path):
    db, _ = crawled
    assert export(db, "-o", str(tmp_path / "out.xml")).returncode == 0
    item = ET.parse(tmp_path / "out.xml").getroot()[0]
    stored = read_rows(db, "SELECT text FROM clean_articles WHERE id = ?", (int(item.find("id").text),))[0]["text"]
    assert [value.text for value in item.find("paragraphs").findall("value")] == stored.split("\n\n")


def test_format_is_chosen_by_extension(crawled, tmp_path):
    db, _ = crawled
    for extension, fmt in {"jsonl": "jsonl", "jl": "jsonl", "json": "json", "csv": "csv", "xml": "xml"}.items():
        path = tmp_path / f"out.{extension}"
        assert export(db, "-o", str(path)).returncode == 0
        assert ids_in(path, fmt) == clean_ids(db), extension


def test_format_option_overrides_the_extension(crawled, tmp_path):
    db, _ = crawled
    assert export(db, "--format", "json", "-o", str(tmp_path / "out.txt")).returncode == 0
    assert ids_in(tmp_path / "out.txt", "json") == clean_ids(db)


def test_unknown_extension_is_refused(crawled, tmp_path):
    db, _ = crawled
    path = tmp_path / "out.txt"
    result = export(db, "-o", str(path))
    assert result.returncode == 2
    error = result.stderr.strip().splitlines()[-1]
    assert f"-o {path}: " in error and ".txt" in error and "--format jsonl|json|csv|xml" in error
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_broken_pipe_ends_quietly_and_leaves_the_cursor(crawled, tmp_path):
    db, feeds = crawled
    assert (feeds / "crawl.json").stat().st_size > 3 * PIPE_BUFFER  # more than the pipe holds: it breaks
    cursor = tmp_path / "reader.cursor"
    cursor.write_text("0\n")
    pipeline = f"{shlex.join(export_command(db, '--cursor-file', str(cursor)))} | head -1; exit ${{PIPESTATUS[0]}}"
    env = {**os.environ, "PYTHONWARNINGS": "always::DeprecationWarning"}
    result = subprocess.run(["bash", "-c", pipeline], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (0, "")
    assert json.loads(result.stdout)["id"] == clean_ids(db)[0]
    # Records were lost in the closed pipe: the mark must not pass them.
    assert cursor.read_text() == "0\n"


def test_usage_line_names_every_option():
    result = subprocess.run(
        [sys.executable, "-m", "scrapy", "export", "-h"], cwd=REPO, capture_output=True, text=True, timeout=60
    )
    usage = result.stdout.splitlines()[2]
    # The command's own options, as -h lists them (Scrapy's global ones come after).
    listed = result.stdout.split("\nOptions\n")[1].split("\nGlobal Options\n")[0]
    options = set(re.findall(r"^  (-[\w-]+)", listed, re.MULTILINE)) - {"-h"}
    assert {"-o", "--since", "--since-run", "--after", "--cursor-file", "--format", "--include-duplicates"} <= options
    missing = [option for option in sorted(options) if not re.search(rf"(?<![\w-]){option}(?![\w-])", usage)]
    assert missing == [], usage
    assert "--format jsonl|json|csv|xml" in usage
