"""Web archives: ``scrapy crawl warc`` on WARC files the tests write with
warcio, and the round trip through ``SIEVE_WARC_OUTPUT``."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from tests.fixture_site import STORIES, story_page
from tests.helpers import FAST_WEB, last_run_stats, read_rows, scrapy_crawl
from tests.test_cluster import contents

WARC_DATE = "2024-03-01T10:00:00Z"


def response_record(writer: WARCWriter, url: str, body: bytes, *, status: str = "200 OK", content_type: str = "text/html; charset=utf-8", headers: list[tuple[str, str]] = ()):
    http = StatusAndHeaders(status, [("Content-Type", content_type), *headers], protocol="HTTP/1.1")
    return writer.create_warc_record(url, "response", payload=io.BytesIO(body), http_headers=http, warc_headers_dict={"WARC-Date": WARC_DATE})


def write_warc(path: Path, build, *, per_record_gzip: bool = True, whole_file_gzip: bool = False) -> Path:
    """A WARC file of the records ``build(writer)`` returns."""
    buffer = io.BytesIO()
    writer = WARCWriter(buffer, gzip=per_record_gzip)
    for record in build(writer):
        writer.write_record(record)
    data = buffer.getvalue()
    path.write_bytes(gzip.compress(data) if whole_file_gzip else data)
    return path


def stories(writer: WARCWriter, site: str = "https://news.example.org", count: int = 3):
    return [response_record(writer, f"{site}{story.path}", story_page(story).encode()) for story in STORIES[:count]]


def crawl_warc(db: Path, path: Path, **args: str):
    return scrapy_crawl("warc", db=db, args={"path": str(path), **args}, settings={"SIEVE_WORKERS": "0"})


def articles(db: Path) -> dict[str, str]:
    return {r["url"]: r["text"] for r in read_rows(db, "SELECT url, text FROM articles")}


def skipped(db: Path) -> dict[str, tuple[str, str]]:
    return {r["url"]: (r["reason"], r["detail"]) for r in read_rows(db, "SELECT url, reason, detail FROM skipped")}


@pytest.mark.parametrize(("per_record_gzip", "whole_file_gzip", "name"), [(True, False, "a.warc.gz"), (False, True, "a.warc.gz"), (False, False, "a.warc")])
def test_every_archived_article_is_stored_under_its_target_uri(tmp_path, per_record_gzip, whole_file_gzip, name):
    warc = write_warc(tmp_path / name, stories, per_record_gzip=per_record_gzip, whole_file_gzip=whole_file_gzip)
    result = crawl_warc(tmp_path / "sieve.db", warc)
    assert result.returncode == 0, result.stderr[-2000:]
    stored = articles(tmp_path / "sieve.db")
    assert set(stored) == {f"https://news.example.org{s.path}" for s in STORIES[:3]}
    assert all(STORIES[0].paragraphs[0] in text for url, text in stored.items() if url.endswith(STORIES[0].path))


def test_each_article_names_the_warc_file_offset_and_record_it_was_read_from(tmp_path):
    warc = write_warc(tmp_path / "a.warc.gz", stories)
    crawl_warc(tmp_path / "sieve.db", warc)
    from fastwarc.warc import ArchiveIterator

    with warc.open("rb") as stream:
        records = {r.headers["WARC-Target-URI"]: (r.stream_pos, r.headers["WARC-Record-ID"]) for r in ArchiveIterator(stream)}
    rows = read_rows(
        tmp_path / "sieve.db",
        "SELECT u.url, u.how, u.warc_file, u.warc_offset, u.warc_record_id FROM article_urls u JOIN articles a ON a.id = u.article_id",
    )
    assert {r["url"]: (r["warc_offset"], r["warc_record_id"]) for r in rows} == records
    assert {(r["how"], r["warc_file"]) for r in rows} == {("fetched", str(warc.resolve()))}
    assert sorted({r[0] for r in records.values()})[0] == 0 < sorted({r[0] for r in records.values()})[1]


def test_warc_date_is_when_the_page_was_fetched(tmp_path):
    crawl_warc(tmp_path / "sieve.db", write_warc(tmp_path / "a.warc.gz", stories))
    assert {r["fetched_at"] for r in read_rows(tmp_path / "sieve.db", "SELECT fetched_at FROM fetches")} == {"2024-03-01T10:00:00.000Z"}


def test_record_with_an_unreadable_warc_date_is_stored_as_fetched_now(tmp_path):
    def build(writer):
        http = StatusAndHeaders("200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1")
        page = story_page(STORIES[0]).encode()
        return [
            writer.create_warc_record("https://a.example/odd-date", "response", payload=io.BytesIO(page), http_headers=http, warc_headers_dict={"WARC-Date": "yesterday"}),
            *stories(writer, count=2),
        ]

    db = tmp_path / "sieve.db"
    assert crawl_warc(db, write_warc(tmp_path / "a.warc.gz", build)).returncode == 0
    assert len(articles(db)) == 3
    fetched = {r["url"]: r["fetched_at"] for r in read_rows(db, "SELECT url, fetched_at FROM fetches")}
    assert fetched["https://a.example/odd-date"] > "2025" and fetched[f"https://news.example.org{STORIES[1].path}"] == "2024-03-01T10:00:00.000Z"


def test_chunked_and_gzip_encoded_bodies_are_decoded(tmp_path):
    page = story_page(STORIES[0]).encode()
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (page[:500], page[500:])) + b"0\r\n\r\n"

    def build(writer):
        return [
            response_record(writer, "https://a.example/chunked", chunked, headers=[("Transfer-Encoding", "chunked")]),
            response_record(writer, "https://a.example/gzipped", gzip.compress(page), headers=[("Content-Encoding", "gzip")]),
        ]

    crawl_warc(tmp_path / "sieve.db", write_warc(tmp_path / "a.warc.gz", build))
    stored = articles(tmp_path / "sieve.db")
    assert stored.keys() == {"https://a.example/chunked", "https://a.example/gzipped"}
    assert stored["https://a.example/chunked"] == stored["https://a.example/gzipped"]


def test_responses_that_are_not_pages_are_skipped_with_the_reason(tmp_path):
    def build(writer):
        revisit = writer.create_revisit_record("https://a.example/again", digest="sha1:AAAA", refers_to_uri="https://a.example/first", refers_to_date=WARC_DATE)
        return [
            response_record(writer, "https://a.example/report.pdf", b"%PDF-1.7", content_type="application/pdf"),
            response_record(writer, "https://a.example/gone", b"<h1>Not found</h1>", status="404 Not Found"),
            response_record(writer, "file:///etc/passwd", b"<p>root</p>"),
            revisit,
            writer.create_warc_record("https://a.example/x", "request", payload=io.BytesIO(b""), http_headers=StatusAndHeaders("GET /x HTTP/1.1", [], is_http_request=True)),
            writer.create_warc_record("https://a.example/x", "metadata", payload=io.BytesIO(b"fetchTimeMs: 12"), warc_content_type="application/warc-fields"),
            *stories(writer, count=1),
        ]

    db = tmp_path / "sieve.db"
    result = crawl_warc(db, write_warc(tmp_path / "a.warc.gz", build))
    assert result.returncode == 0, result.stderr[-2000:]
    assert skipped(db) == {
        "https://a.example/report.pdf": ("unsupported-type", "the content type is application/pdf, not HTML or text"),
        "https://a.example/gone": ("http-404", "the archived response has status 404"),
        "https://a.example/again": ("warc-revisit", "a revisit record: the archive points to an earlier copy"),
        "file:///etc/passwd": ("bad-url", "the record's target is not an http or https URL"),
    }
    assert len(articles(db)) == 1
    stats = last_run_stats(db)
    assert (stats["sieve/warc/records/request"], stats["sieve/warc/records/metadata"]) == (1, 1)


def test_truncated_file_keeps_every_whole_record_before_the_break(tmp_path):
    whole = write_warc(tmp_path / "whole.warc", stories, per_record_gzip=False).read_bytes()
    (tmp_path / "cut.warc").write_bytes(whole[:-200])
    db = tmp_path / "sieve.db"
    result = crawl_warc(db, tmp_path / "cut.warc")
    assert result.returncode == 0, result.stderr[-2000:]
    assert set(articles(db)) == {f"https://news.example.org{s.path}" for s in STORIES[:2]}
    reason, detail = skipped(db)[f"https://news.example.org{STORIES[2].path}"]
    assert reason == "warc-truncated" and "the file ends inside this record" in detail


def test_record_whose_block_does_not_match_its_digest_is_skipped(tmp_path):
    data = bytearray(write_warc(tmp_path / "a.warc", stories, per_record_gzip=False).read_bytes())
    at = data.index(STORIES[1].paragraphs[0][:20].encode())
    data[at : at + 5] = b"XXXXX"
    (tmp_path / "a.warc").write_bytes(bytes(data))
    db = tmp_path / "sieve.db"
    crawl_warc(db, tmp_path / "a.warc")
    assert skipped(db)[f"https://news.example.org{STORIES[1].path}"][0] == "warc-bad-digest"
    assert len(articles(db)) == 2


def test_cc_news_shaped_folder_of_many_sites_is_read_in_order(tmp_path):
    folder = tmp_path / "cc-news"
    folder.mkdir()

    def build_for(site: str):
        return lambda writer: [writer.create_warcinfo_record("CC-NEWS.warc.gz", {"software": "StormCrawler"}), *stories(writer, site)]

    write_warc(folder / "CC-NEWS-20240301-00001.warc.gz", build_for("https://one.example"))
    write_warc(folder / "CC-NEWS-20240301-00002.warc.gz", build_for("https://two.example"))
    db = tmp_path / "sieve.db"
    result = crawl_warc(db, folder)
    assert result.returncode == 0, result.stderr[-2000:]
    stored = read_rows(db, "SELECT url, duplicate_of FROM articles ORDER BY id")
    assert [r["url"].split("/")[2] for r in stored] == ["one.example"] * 3 + ["two.example"] * 3
    # The second site's copies are linked to the first's.
    assert [r["duplicate_of"] is None for r in stored] == [True] * 3 + [False] * 3
    stats = last_run_stats(db)
    assert stats["sieve/warc/records/warcinfo"] == 2 and "sieve/warc/records/response-without-uri" not in stats


def test_articles_only_leaves_out_index_pages(tmp_path):
    from tests.fixture_site import listing_page

    def build(writer):
        return [*stories(writer, count=1), response_record(writer, "https://news.example.org/news/", listing_page("News", STORIES).encode())]

    warc = write_warc(tmp_path / "a.warc.gz", build)
    crawl_warc(tmp_path / "all.db", warc)
    crawl_warc(tmp_path / "only.db", warc, articles_only="true")
    assert "https://news.example.org/news/" in articles(tmp_path / "all.db")
    assert set(articles(tmp_path / "only.db")) == {f"https://news.example.org{STORIES[0].path}"}
    assert skipped(tmp_path / "only.db")["https://news.example.org/news/"][0] == "not-an-article"


def test_reading_the_same_warc_again_stores_nothing_twice(tmp_path):
    warc = write_warc(tmp_path / "a.warc.gz", stories)
    db = tmp_path / "sieve.db"
    crawl_warc(db, warc)
    first = read_rows(db, "SELECT id, url, changed_at FROM articles ORDER BY id")
    result = crawl_warc(db, warc)
    assert result.returncode == 0
    assert read_rows(db, "SELECT id, url, changed_at FROM articles ORDER BY id") == first
    assert last_run_stats(db)["sieve/unchanged/same-body"] == 3


def test_path_that_names_no_warc_file_is_one_line_and_exit_status_2(tmp_path):
    result = crawl_warc(tmp_path / "sieve.db", tmp_path / "missing")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("scrapy crawl warc: path ")


def test_file_that_is_not_a_warc_is_skipped_and_the_next_file_read(tmp_path):
    folder = tmp_path / "archives"
    folder.mkdir()
    (folder / "a-broken.warc.gz").write_bytes(b"this is not a WARC file at all\n" * 10)
    write_warc(folder / "b-good.warc.gz", stories)
    db = tmp_path / "sieve.db"
    crawl_warc(db, folder)
    assert len(articles(db)) == 3
    broken = {url: why for url, why in skipped(db).items() if url.endswith("a-broken.warc.gz")}
    assert [reason for reason, _ in broken.values()] == ["bad-warc"]


def test_site_crawl_archived_then_read_back_gives_the_same_database(fresh_site, tmp_path):
    archive = tmp_path / "archive"
    crawled = scrapy_crawl("site", db=tmp_path / "crawled.db", args={"url": f"{fresh_site.base}/"}, settings={**FAST_WEB, "SIEVE_WORKERS": "0", "SIEVE_WARC_OUTPUT": str(archive)})
    assert crawled.returncode == 0, crawled.stderr[-2000:]
    files = sorted(archive.iterdir())
    assert [f.name.endswith(".warc.gz") for f in files] == [True]  # closed: no ".open" left
    requests = len(fresh_site.paths_requested())
    fresh_site.stop()  # the archive alone: nothing may be fetched
    result = crawl_warc(tmp_path / "archived.db", archive, articles_only="true")
    assert result.returncode == 0, result.stderr[-2000:]
    assert len(fresh_site.paths_requested()) == requests
    crawled_db, archived_db = contents(tmp_path / "crawled.db"), contents(tmp_path / "archived.db")
    for part in ("articles", "groups", "removed"):
        assert archived_db[part] == crawled_db[part], part


def test_reader_waits_while_its_pages_are_in_the_pipeline():
    import asyncio
    from types import SimpleNamespace

    from scrapy import signals
    from scrapy.signalmanager import SignalManager

    from crawler.spiders import ItemsInFlight

    crawler = SimpleNamespace(signals=SignalManager())

    async def read_ahead() -> None:
        in_flight = ItemsInFlight(crawler)
        in_flight.add(3)
        room = asyncio.ensure_future(in_flight.wait_until(1))
        await asyncio.sleep(0)
        crawler.signals.send_catch_log(signals.item_scraped, item=None)
        await asyncio.sleep(0)
        assert not room.done()  # two still in the pipeline
        crawler.signals.send_catch_log(signals.item_dropped, item=None)
        await asyncio.sleep(0)
        assert room.done()

    asyncio.run(read_ahead())
