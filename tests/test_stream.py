"""The cluster's document stream entries (crawler.stream): what a crawler
sends is what the writer gets."""

from __future__ import annotations

import json

import numpy as np
import pytest

from crawler.items import Fetch, Page, Skipped, Unchanged
from crawler.stream import SCHEMA_VERSION, UnreadableEntry, decode, encode, entry_id
from tests.conftest import FIXTURES


@pytest.fixture
def article(stages):
    body = (FIXTURES / "seeds" / "004_23132b0ce75d5b1b.txt").read_bytes()
    return stages(Page("file:///seeds/004_23132b0ce75d5b1b.txt", body, "text", source="seeds", fetch=Fetch("1-2", None, "ab")))


def test_article_from_the_document_stages_arrives_as_it_was_sent(article):
    assert article.removed and article.signatures and article.paragraph_keys  # what the writer needs
    received = decode(encode(article))
    for name in ("url", "kind", "source", "title", "published", "language", "fetch", "fetched_url", "paragraphs", "removed", "paragraph_keys"):
        assert getattr(received, name) == getattr(article, name), name
    assert received.signatures.keys() == article.signatures.keys()
    assert all(np.array_equal(received.signatures[k], article.signatures[k]) for k in article.signatures)
    assert np.array_equal(received.signature, article.signature)
    assert received.text_hash() == article.text_hash()


@pytest.mark.parametrize(
    "item",
    [
        Skipped("https://example.org/a", "http-404", "the server answered 404", Fetch(None, None, "h")),
        Unchanged("https://example.org/b", "not-modified", Fetch('"e"', "Mon, 01 Jan 2024 00:00:00 GMT", None), "https://example.org/b?x"),
    ],
)
def test_skipped_and_unchanged_documents_arrive_as_they_were_sent(item):
    assert decode(encode(item)) == item


def test_entry_of_another_schema_version_is_refused_with_its_version():
    entry = json.loads(encode(Skipped("https://example.org/a", "http-404")))
    entry["v"] = SCHEMA_VERSION + 1
    with pytest.raises(UnreadableEntry, match=f"schema version {SCHEMA_VERSION + 1}"):
        decode(json.dumps(entry).encode())


@pytest.mark.parametrize("data", [b"not json", b"[]", b'{"v": 1, "type": "article"}', b'{"v": 1, "type": "tweet", "fetch": null}'])
def test_entry_that_is_not_a_sieve_document_is_refused(data):
    with pytest.raises(UnreadableEntry):
        decode(data)


def test_entry_ids_compare_in_stream_order():
    assert entry_id(b"9-5") < entry_id("10-0") < entry_id("10-1")
