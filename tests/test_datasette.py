"""Datasette, started as docs/database.md says, over a database made by a real
crawl: the `clean_articles` view is searchable through `articles_fts` (set in
datasette.yaml) and leaves out near-duplicates.

Datasette runs in its own process and is never imported here."""

from __future__ import annotations

import http.client
import json
import random
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.helpers import REPO, WORDS, read_rows, scrapy_crawl, write_articles

#: In one article and its near-duplicate copy, in no other.
UNIQUE = "zeppelin"
#: In no article.
ABSENT = "quokka"


def zeppelin_story(seed: int = 99) -> tuple[str, list[str]]:
    rng = random.Random(seed)
    paragraphs = [
        " ".join((" ".join(rng.choice(WORDS) for _ in range(12)).capitalize() + ".") for _ in range(3))
        for _ in range(4)
    ]
    paragraphs[1] = f"A {UNIQUE} was moored above the river bridge. " + paragraphs[1]
    return f"A {UNIQUE} over the council budget", paragraphs


@pytest.fixture(scope="module")
def crawled_db(tmp_path_factory) -> Path:
    """Six distinct gazette articles, one of them about a zeppelin, and a wire
    copy of that one with three words added, crawled into ``sieve.db``."""
    folder = tmp_path_factory.mktemp("datasette")
    write_articles(folder / "in" / "gazette", 5, seed=11)
    title, paragraphs = zeppelin_story()
    (folder / "in" / "gazette" / "zeppelin.txt").write_text("\n\n".join([title, *paragraphs]) + "\n")
    copy = list(paragraphs)
    copy[-1] = copy[-1].replace(".", ", officials said.", 1)
    (folder / "in" / "wire").mkdir()
    (folder / "in" / "wire" / "zeppelin.txt").write_text("\n\n".join([title + " (wire)", *copy]) + "\n")

    db = folder / "sieve.db"  # Datasette names the database "sieve" after the file
    result = scrapy_crawl("files", db=db, args={"path": str(folder / "in")})
    assert result.returncode == 0, result.stderr
    return db


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP to a server listening on a Unix socket."""

    def __init__(self, socket_path: Path, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self.socket_path = socket_path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(str(self.socket_path))


def get(socket_path: Path, path: str, timeout: float = 10) -> tuple[int, bytes]:
    connection = UnixHTTPConnection(socket_path, timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.fixture(scope="module")
def datasette(crawled_db, tmp_path_factory, socket_dir) -> Path:
    """The Unix socket of ``datasette serve`` run from the repository root
    with its ``datasette.yaml``, as docs/database.md shows: a socket of its
    own, which no other test run can take or answer on."""
    socket_path, log = socket_dir / "datasette.sock", tmp_path_factory.mktemp("datasette-serve") / "datasette.log"
    command = [sys.executable, "-m", "datasette", "serve", str(crawled_db), "--metadata", "datasette.yaml", "--uds", str(socket_path)]
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"datasette exited with status {process.returncode}:\n{log.read_text()}")
            try:
                if get(socket_path, "/-/versions.json", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"datasette did not answer within 30 s:\n{log.read_text()}")
            time.sleep(0.1)
        yield socket_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def get_rows(socket_path: Path, table: str, **params: str) -> list[dict]:
    query = urllib.parse.urlencode({**params, "_shape": "array"})
    status, body = get(socket_path, f"/sieve/{table}.json?{query}")
    assert status == 200, body[:500]
    return json.loads(body)


def ids(rows: list[dict]) -> list[int]:
    return [row["id"] for row in rows]


@pytest.fixture(scope="module")
def zeppelin_ids(crawled_db) -> tuple[int, int]:
    """The ids of the zeppelin article kept in clean_articles and of its copy."""
    rows = read_rows(crawled_db, "SELECT id, duplicate_of FROM articles WHERE text LIKE ? ORDER BY id", (f"%{UNIQUE}%",))
    assert len(rows) == 2
    [original] = [r for r in rows if r["duplicate_of"] is None]
    [copy] = [r for r in rows if r["duplicate_of"] is not None]
    assert copy["duplicate_of"] == original["id"]
    return original["id"], copy["id"]


def test_search_on_clean_articles_returns_only_the_matching_article(datasette, crawled_db, zeppelin_ids):
    original, _ = zeppelin_ids
    assert len(read_rows(crawled_db, "SELECT id FROM clean_articles")) == 6
    rows = get_rows(datasette, "clean_articles", _search=UNIQUE)
    assert ids(rows) == [original]
    assert UNIQUE in rows[0]["text"]


def test_search_on_clean_articles_leaves_out_the_near_duplicate(datasette, zeppelin_ids):
    original, copy = zeppelin_ids
    # The copy matches the search: the view, not the index, leaves it out.
    assert sorted(ids(get_rows(datasette, "articles", _search=UNIQUE))) == [original, copy]
    assert copy not in ids(get_rows(datasette, "clean_articles", _search=UNIQUE))


def test_search_for_a_word_in_no_article_returns_no_rows(datasette):
    assert get_rows(datasette, "clean_articles", _search=ABSENT) == []


def test_clean_articles_are_listed_newest_first(datasette, crawled_db):
    expected = [r["id"] for r in read_rows(crawled_db, "SELECT id FROM clean_articles ORDER BY id DESC")]
    assert ids(get_rows(datasette, "clean_articles")) == expected
