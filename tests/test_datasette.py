"""Datasette, started as docs/database.md says, over a database made by a real
crawl: the `clean_articles` view is searchable through `articles_fts` (set in
datasette.yaml) and leaves out near-duplicates; the `browse` and `article`
canned queries of datasette.yaml are the readable article list (searched by
rank) and article page, and the table pages count articles by source and
language.

Datasette runs in its own process and is never imported here."""

from __future__ import annotations

import contextlib
import http.client
import json
import random
import socket
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
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


@contextlib.contextmanager
def serve(db: Path, socket_path: Path, log: Path) -> Iterator[Path]:
    """The Unix socket of ``datasette serve`` run on ``db`` from the
    repository root with its ``datasette.yaml``, as docs/database.md shows: a
    socket of its own, which no other test run can take or answer on."""
    command = [sys.executable, "-m", "datasette", "serve", str(db), "--metadata", "datasette.yaml", "--uds", str(socket_path)]
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


@pytest.fixture(scope="module")
def datasette(crawled_db, tmp_path_factory, socket_dir) -> Iterator[Path]:
    """Datasette serving the crawl of ``crawled_db``."""
    log = tmp_path_factory.mktemp("datasette-serve") / "datasette.log"
    with serve(crawled_db, socket_dir / "datasette.sock", log) as socket_path:
        yield socket_path


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


#: The article list and the article page: canned queries of datasette.yaml.
ARTICLE_LIST, ARTICLE_PAGE = "browse", "article"
#: The columns of the article list, in their order.
LIST_COLUMNS = ["id", "title", "source", "published", "language", "snippet", "article"]
#: How many characters of an article's text the list shows, "…" left out.
SNIPPET_CHARS = 120


def is_link(value: str) -> bool:
    """Whether Datasette shows ``value`` as a link (it does so for a whole
    http(s) URL only) to one of its pages, on the host that this module's
    requests name (``localhost``)."""
    return value.startswith("http://localhost/sieve/") and not any(c.isspace() for c in value)


def get_json(socket_path: Path, link: str) -> list[dict]:
    """The rows of the page a link of Datasette's leads to, as JSON."""
    parts = urllib.parse.urlsplit(link)
    query = urllib.parse.urlencode([*urllib.parse.parse_qsl(parts.query), ("_shape", "array")])
    status, body = get(socket_path, f"{parts.path}.json?{query}")
    assert status == 200, body[:500]
    return json.loads(body)


def article_fields(socket_path: Path, link: str) -> dict[str, str]:
    """An article page (the ``article`` query) as field -> value."""
    return {row["field"]: row["value"] for row in get_json(socket_path, link)}


#: Words in the two articles of ``ranked_db`` and in no other.
OCELOT, TAPIR = "ocelot", "tapir"


@pytest.fixture(scope="module")
def ranked_db(tmp_path_factory) -> Path:
    """Two articles, each in a source of its own: ``ocelots`` names an ocelot
    three times and a tapir once, ``tapirs`` the other way round. Whichever
    ids they get, a search for one word and a search for the other rank
    them in opposite orders; an order by id is the same for both.
    ``ocelots`` ends with a repeat of its third paragraph, which cleaning
    removes (reason ``repeat``)."""
    folder = tmp_path_factory.mktemp("datasette-ranked")
    for seed, (name, many, once) in enumerate([("ocelots", OCELOT, TAPIR), ("tapirs", TAPIR, OCELOT)]):
        [path] = write_articles(folder / "in" / name, 1, seed=40 + seed)
        title, *paragraphs = path.read_text().strip().split("\n\n")
        paragraphs[0] = f"The {many} came first. " + paragraphs[0]
        paragraphs[1] = f"A {many} and a {once} shared a field. " + paragraphs[1]
        paragraphs[3] = f"That {many} stayed. " + paragraphs[3]
        if name == "ocelots":
            paragraphs.append(paragraphs[2])
        path.write_text("\n\n".join([title, *paragraphs]) + "\n")
    db = folder / "sieve.db"
    result = scrapy_crawl("files", db=db, args={"path": str(folder / "in")})
    assert result.returncode == 0, result.stderr
    return db


@pytest.fixture(scope="module")
def ranked_datasette(ranked_db, tmp_path_factory, socket_dir) -> Iterator[Path]:
    """Datasette serving ``ranked_db``."""
    log = tmp_path_factory.mktemp("datasette-ranked-serve") / "datasette.log"
    with serve(ranked_db, socket_dir / "ranked.sock", log) as socket_path:
        yield socket_path


def source_ids(db: Path) -> dict[str, int]:
    return {r["source"]: r["id"] for r in read_rows(db, "SELECT source, id FROM clean_articles")}


def test_article_list_shows_a_snippet_not_the_full_text(datasette, crawled_db):
    rows = get_rows(datasette, ARTICLE_LIST)
    texts = {r["id"]: r["text"] for r in read_rows(crawled_db, "SELECT id, text FROM clean_articles")}
    assert rows and all(list(row) == LIST_COLUMNS for row in rows)
    for row in rows:
        text = texts[row["id"]]
        assert len(row["snippet"].removesuffix("…")) <= SNIPPET_CHARS < len(text)
        # On one line: paragraph breaks become spaces.
        assert text.replace("\n\n", "\n").replace("\n", " ").startswith(row["snippet"].removesuffix("…"))


def test_article_list_holds_the_clean_articles_newest_first(datasette, crawled_db):
    expected = [r["id"] for r in read_rows(crawled_db, "SELECT id FROM clean_articles ORDER BY id DESC")]
    assert ids(get_rows(datasette, ARTICLE_LIST)) == expected


def test_search_results_are_ordered_by_rank(ranked_datasette, ranked_db):
    by_source = source_ids(ranked_db)
    ocelots, tapirs = by_source["ocelots"], by_source["tapirs"]
    assert ids(get_rows(ranked_datasette, ARTICLE_LIST, search=OCELOT)) == [ocelots, tapirs]
    assert ids(get_rows(ranked_datasette, ARTICLE_LIST, search=TAPIR)) == [tapirs, ocelots]


def test_search_snippet_shows_the_passage_that_matched(datasette, zeppelin_ids):
    original, _ = zeppelin_ids
    [row] = get_rows(datasette, ARTICLE_LIST, search=UNIQUE)
    assert row["id"] == original
    assert UNIQUE in row["snippet"]
    # The first lines of the article, which the list shows unsearched, do not name it.
    [unsearched] = [r for r in get_rows(datasette, ARTICLE_LIST) if r["id"] == original]
    assert UNIQUE not in unsearched["snippet"]


def test_article_list_narrows_to_a_source(ranked_datasette, ranked_db):
    assert ids(get_rows(ranked_datasette, ARTICLE_LIST, source="tapirs")) == [source_ids(ranked_db)["tapirs"]]


def test_facets_on_source_and_language(datasette, crawled_db):
    status, body = get(datasette, "/sieve/clean_articles.json")
    assert status == 200, body[:500]
    facets = json.loads(body)["facet_results"]
    for column in ("source", "language"):
        counts = {r["value"]: r["count"] for r in facets[column]["results"]}
        expected = read_rows(crawled_db, f"SELECT {column} AS value, count(*) AS n FROM clean_articles GROUP BY 1")
        assert counts == {r["value"]: r["n"] for r in expected}


def test_each_article_links_to_its_full_text(datasette, crawled_db):
    for row in get_rows(datasette, ARTICLE_LIST):
        [stored] = read_rows(crawled_db, "SELECT title, text FROM articles WHERE id = ?", (row["id"],))
        assert is_link(row["article"]), row["article"]
        fields = article_fields(datasette, row["article"])
        assert (fields["title"], fields["text"]) == (stored["title"], stored["text"])


def test_each_article_links_to_its_removed_audit(ranked_datasette, ranked_db):
    datasette, audited = ranked_datasette, 0
    for row in get_rows(datasette, ARTICLE_LIST):
        stored = read_rows(ranked_db, "SELECT id, text, reason FROM removed WHERE article_id = ? ORDER BY position", (row["id"],))
        fields = article_fields(datasette, row["article"])
        [(label, link)] = [(f, v) for f, v in fields.items() if f.startswith("removed paragraphs")]
        assert label == f"removed paragraphs ({len(stored)})"
        assert is_link(link), link
        shown = get_json(datasette, link)
        assert [(r["id"], r["text"], r["reason"]) for r in shown] == [tuple(r) for r in stored]
        audited += bool(stored)
    assert audited, "no article of the crawl had a paragraph removed: nothing was checked"


@pytest.mark.parametrize("page", ["/", "/sieve"])
def test_front_and_database_pages_lead_to_the_article_list(datasette, page):
    status, body = get(datasette, page)
    assert status == 200
    assert f'href="/sieve/{ARTICLE_LIST}"' in body.decode()
