"""The cluster's document stream entries (crawler.stream_entries): what a crawler
sends is what the writer gets."""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np
import pytest

from crawler.items import ArchiveRecord, Article, Fetch, Page, Skipped, Unchanged
from crawler.stream_entries import SCHEMA_VERSION, UnreadableEntry, decode_entry, encode_entry, entry_id
from tests.helpers import FIXTURES


@pytest.fixture
def article(stages):
    body = (FIXTURES / "seeds" / "004_23132b0ce75d5b1b.txt").read_bytes()
    return stages(Page("file:///seeds/004_23132b0ce75d5b1b.txt", body, "text", source="seeds", fetch=Fetch("1-2", None, "ab")))


def test_article_from_the_document_stages_arrives_as_it_was_sent(article):
    sent = article.fingerprints
    assert article.removed and sent.signatures and sent.paragraph_keys  # what the writer needs
    received = decode_entry(encode_entry(article))
    for name in ("url", "kind", "source", "title", "published", "language", "fetch", "fetched_url", "paragraphs", "removed"):
        assert getattr(received, name) == getattr(article, name), name
    got = received.fingerprints
    assert got.paragraph_keys == sent.paragraph_keys
    assert got.signatures.keys() == sent.signatures.keys()
    assert all(np.array_equal(got.signatures[k], sent.signatures[k]) for k in sent.signatures)
    assert np.array_equal(got.signature, sent.signature)
    assert received.text_hash() == article.text_hash()


@pytest.mark.parametrize(
    "item",
    [
        Skipped("https://example.org/a", "http-404", "the server answered 404", Fetch(None, None, "h")),
        Unchanged("https://example.org/b", "not-modified", Fetch('"e"', "Mon, 01 Jan 2024 00:00:00 GMT", None), "https://example.org/b?x"),
    ],
)
def test_skipped_and_unchanged_documents_arrive_as_they_were_sent(item):
    assert decode_entry(encode_entry(item)) == item


def test_unchanged_entry_from_an_earlier_crawler_naming_its_reason_why_is_read():
    entry = entry_of(Unchanged("https://example.org/b", "not-modified"))
    entry["why"] = entry.pop("reason")
    assert decode_entry(json.dumps(entry).encode()).reason == "not-modified"


def test_entry_of_another_schema_version_is_refused_with_its_version():
    entry = json.loads(encode_entry(Skipped("https://example.org/a", "http-404")))
    entry["v"] = SCHEMA_VERSION + 1
    with pytest.raises(UnreadableEntry, match=f"schema version {SCHEMA_VERSION + 1}"):
        decode_entry(json.dumps(entry).encode())


@pytest.mark.parametrize(
    "data", [b"not json", b"[]", b'{"v": 1, "type": "article"}', b'{"v": 1, "type": "tweet", "fetch": null}', b'{"v": 1, "type": ["article"]}']
)
def test_entry_that_is_not_a_sieve_document_is_refused(data):
    with pytest.raises(UnreadableEntry):
        decode_entry(data)


def entry_of(item: Article | Skipped | Unchanged) -> dict[str, Any]:
    return json.loads(encode_entry(item))


def reason_refused(entry: Any) -> str:
    """Why decode_entry() refuses ``entry`` (written as JSON)."""
    with pytest.raises(UnreadableEntry) as refused:
        decode_entry(json.dumps(entry).encode())
    return str(refused.value)


SKIPPED = Skipped("https://example.org/a", "http-404", "the server answered 404", Fetch(None, None, "h"))


def test_web_article_with_every_field_arrives_as_it_was_sent(article):
    article.url = article.fetched_url = "https://news.example.org/story"
    article.canonical_url = "https://news.example.org/story?amp=0"
    article.authors, article.tags, article.published_local = ["Ana Ruiz", "Bo Li"], ["council"], "2026-05-04T09:30:00+02:00"
    article.requested_urls = ["http://news.example.org/story", "https://news.example.org/story?utm_source=x"]
    article.archive_record = ArchiveRecord("CC-NEWS-1.warc.gz", 1234, "<urn:uuid:1>")
    article.fetch = Fetch('"e"', "Mon, 01 Jan 2024 00:00:00 GMT", "ab", "2026-05-04T07:30:00Z")
    received = decode_entry(encode_entry(article))
    for name in ("url", "canonical_url", "authors", "tags", "published_local", "requested_urls", "archive_record", "fetch", "paragraphs", "removed"):
        assert getattr(received, name) == getattr(article, name), name


def test_entry_written_before_the_later_fields_still_reads(article):
    entry = entry_of(article)
    for name in ("published_local", "authors", "description", "image", "section", "tags", "requested_urls", "archive_record"):
        del entry[name]
    entry["fetch"] = entry["fetch"][:3]  # before fetched_at
    received = decode_entry(json.dumps(entry).encode())
    assert received.paragraphs == article.paragraphs and received.tags == [] and received.fetch == Fetch("1-2", None, "ab")


def test_skip_keeps_the_url_the_spider_refused_as_it_read_it():
    # A bad-url skip records the URL as the list gave it, in one crawl and in a cluster alike.
    refused = Skipped("javascript:alert(1)", "bad-url", "not an http or https URL")
    assert decode_entry(encode_entry(refused)) == refused


def test_url_that_is_not_a_string_is_refused_naming_the_field():
    entry = entry_of(SKIPPED)
    entry["url"] = 12345
    assert reason_refused(entry) == "url: expected a string, got int"


def test_skip_reason_that_is_a_list_is_refused_naming_the_field():
    entry = entry_of(SKIPPED)
    entry["reason"] = ["http-404"]
    assert reason_refused(entry) == "reason: expected a string, got a list of 1"


@pytest.mark.parametrize("name", ["url", "reason", "detail", "fetch"])
def test_entry_missing_a_field_is_refused_naming_it(name):
    entry = entry_of(SKIPPED)
    del entry[name]
    assert reason_refused(entry) == f"{name}: missing"


def test_article_missing_its_paragraphs_is_refused_naming_them(article):
    entry = entry_of(article)
    del entry["paragraphs"]
    assert reason_refused(entry) == "paragraphs: missing"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "/relative/story", "ftp://example.org/story", "https://", "file:relative.txt"])
def test_article_under_a_url_no_spider_stores_is_refused(article, url):
    entry = entry_of(article)
    entry["url"] = url
    assert reason_refused(entry) == f"url: {url!r} is not an http, https or file URL"


def test_skip_with_a_null_url_is_refused():
    entry = entry_of(SKIPPED)
    entry["url"] = None
    assert reason_refused(entry) == "url: expected a string, got null"


@pytest.mark.parametrize(
    ("signature", "reason"),
    [
        ("not base64!", "not base64"),
        (base64.b64encode(np.arange(12, dtype=np.uint32).tobytes()).decode(), "48 bytes, not 128 uint32 values"),
        (12, "expected a string, got int"),
    ],
    ids=["not base64", "12 values", "an int"],
)
def test_paragraph_signature_that_is_not_128_base64_uint32_is_refused(article, signature, reason):
    entry = entry_of(article)
    position = next(iter(entry["signatures"]))
    entry["signatures"][position] = signature
    assert reason_refused(entry) == f"signatures[{position}]: {reason}"


def test_article_signature_of_the_wrong_length_is_refused(article):
    entry = entry_of(article)
    entry["signature"] = base64.b64encode(np.zeros(127, dtype=np.uint32).tobytes()).decode()
    assert reason_refused(entry) == "signature: 508 bytes, not 128 uint32 values"


def put(entry: dict[str, Any], path: tuple[str | int, ...], value: Any) -> None:
    for key in path[:-1]:
        entry = entry[key]
    entry[path[-1]] = value


WRONG_SHAPES = [
    (("paragraphs", 0, 0), "0", "paragraphs[0].position: expected an int, got string"),
    (("paragraphs", 0, 1), None, "paragraphs[0].text: expected a string, got null"),
    (("paragraphs", 0), "text", "paragraphs[0]: expected a list of 2, got string"),
    (("removed", 0), [0, "Menu", "boilerplate", None], "removed[0]: expected a list of 5, got a list of 4"),
    (("removed", 0, 3), 1.5, "removed[0].match_position: expected an int, got float"),
    (("removed", 0, 4), 1, "removed[0].match_article: expected null, got int"),
    (("paragraph_keys",), {"x": []}, "paragraph_keys: key 'x' is not a paragraph position"),
    (("paragraph_keys",), {"1": [7, "8"]}, "paragraph_keys[1][1]: expected an int, got string"),
    (("paragraph_keys",), {"1": [1 << 64]}, f"paragraph_keys[1][0]: {1 << 64} is out of SQLite's integer range"),
    (("fetch",), ["1-2", None], "fetch: expected a list of 3 to 4, got a list of 2"),
    (("fetch", 2), 7, "fetch.body_hash: expected a string, got int"),
    (("requested_urls",), "https://example.org/", "requested_urls: expected a list, got string"),
    (("requested_urls",), [None], "requested_urls[0]: expected a string, got null"),
    (("tags",), [1], "tags[0]: expected a string, got int"),
    (("title",), {"text": "A"}, "title: expected a string, got object"),
    (("title",), "\ud800", "title: not UTF-8 text (a lone surrogate)"),
    (("canonical_url",), "file:///etc/passwd", "canonical_url: 'file:///etc/passwd' is not an http or https URL"),
    (("archive_record",), ["a.warc.gz", "12", None], "archive_record.offset: expected an int, got string"),
]


@pytest.mark.parametrize(("path", "value", "reason"), WRONG_SHAPES, ids=[reason for *_, reason in WRONG_SHAPES])
def test_article_field_of_the_wrong_shape_is_refused_naming_where(article, path, value, reason):
    entry = entry_of(article)
    put(entry, path, value)
    assert reason_refused(entry) == reason


def test_article_with_two_paragraphs_at_one_position_is_refused(article):
    # The database keys an article's paragraphs by position: the write would fail.
    entry = entry_of(article)
    entry["paragraphs"].append(entry["paragraphs"][-1])
    last = entry["paragraphs"][-1][0]
    assert reason_refused(entry) == f"paragraphs: position {last} after {last}"


def test_article_with_keys_for_only_some_paragraphs_is_refused(article):
    entry = entry_of(article)
    first = str(entry["paragraphs"][0][0])
    del entry["paragraph_keys"][first]
    assert reason_refused(entry) == f"paragraph_keys: none for paragraph {first}"


def test_unchanged_document_under_a_javascript_url_is_refused():
    entry = entry_of(Unchanged("https://example.org/b", "not-modified"))
    entry["url"] = "javascript:alert(1)"
    assert reason_refused(entry) == "url: 'javascript:alert(1)' is not an http, https or file URL"


def test_schema_version_true_is_not_version_1():
    entry = entry_of(SKIPPED)
    entry["v"] = True
    assert reason_refused(entry).startswith("schema version True")


def test_json_nested_deeper_than_the_stack_is_refused():
    with pytest.raises(UnreadableEntry, match="^not JSON"):
        decode_entry(b"[" * 100_000)


def test_entry_ids_compare_in_stream_order():
    assert entry_id(b"9-5") < entry_id("10-0") < entry_id("10-1")
