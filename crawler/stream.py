"""The document stream of a cluster (``SIEVE_REDIS_URL``): crawler machines
send each finished article, skip or unchanged document to a Redis Stream;
one writer (``scrapy crawl stream``) dedups and stores them.

- :func:`encode` / :func:`decode`: a document as one JSON entry with a
  schema version (never pickle: a Redis server is not a trusted source of
  code). An article travels with what the writer needs from the document
  stages: its kept paragraphs, the removals so far, MinHash signatures
  (raw ``uint32`` bytes, base64) and LSH keys.
- :class:`FetchMirror`: the writer's copy of ``fetches`` in Redis (one hash
  field per URL), from which crawlers make conditional requests and find
  unchanged bodies, as a single-machine crawl does from the database.

Stream entries are applied exactly once: the writer commits each batch to
SQLite with the id of the last entry it applied (``meta.stream_applied``),
then acknowledges and deletes the entries; an entry at or below that id is
known to be applied (see :mod:`crawler.spiders.stream`).
"""

from __future__ import annotations

import base64
import dataclasses
import json
from typing import TYPE_CHECKING, Any

from crawler.database import PreviousFetch
from crawler.errors import SieveError
from crawler.items import ArchiveRecord, Article, Fetch, Paragraph, Removal, Skipped, Unchanged

if TYPE_CHECKING:
    import numpy as np
    import redis

#: Redis keys: the stream of documents, its consumer group, the fetch mirror.
STREAM_KEY = "sieve:documents"
GROUP = "writer"
FETCHES_KEY = "sieve:fetches"
#: Raised when a change to the entry format would make old entries misread.
SCHEMA_VERSION = 1


class UnreadableEntry(SieveError):
    """A stream entry this version of Sieve cannot read."""


def _fetch(fetch: Fetch | None) -> list[str | None] | None:
    return None if fetch is None else [fetch.etag, fetch.last_modified, fetch.body_hash, fetch.fetched_at]


def _signature(signature: np.ndarray | None) -> str | None:
    # MinHash signatures are uint32 arrays (pipelines.fingerprints).
    return None if signature is None else base64.b64encode(signature.tobytes()).decode("ascii")


def _unsignature(data: str | None) -> np.ndarray | None:
    # numpy is imported here: the crawl's start-up (scrapy list) does without it.
    import numpy as np

    return None if data is None else np.frombuffer(base64.b64decode(data), dtype=np.uint32)


def encode(item: Article | Skipped | Unchanged) -> bytes:
    if isinstance(item, Skipped):
        entry: dict[str, Any] = {"type": "skipped", "url": item.url, "reason": item.reason, "detail": item.detail}
    elif isinstance(item, Unchanged):
        entry = {
            "type": "unchanged", "url": item.url, "why": item.why, "fetched_url": item.fetched_url,
            "requested_urls": item.requested_urls,
        }  # fmt: skip
    else:
        entry = {
            "type": "article",
            **{name: getattr(item, name) for name in (*ARTICLE_FIELDS, *LATER_ARTICLE_FIELDS)},
            "paragraphs": [[p.position, p.text] for p in item.paragraphs],
            "removed": [[r.position, r.text, r.reason, r.match_position, r.match_article] for r in item.removed],
            "signatures": {str(k): _signature(v) for k, v in item.signatures.items()},
            "signature": _signature(item.signature),
            "paragraph_keys": {str(k): v for k, v in item.paragraph_keys.items()},
            "archive_record": dataclasses.astuple(item.archive_record) if item.archive_record else None,
        }
    entry["fetch"] = _fetch(getattr(item, "fetch", None))
    entry["v"] = SCHEMA_VERSION
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


ARTICLE_FIELDS = (
    "url", "kind", "source", "canonical_url", "title", "author", "published", "language", "sitename", "fetched_url",
)  # fmt: skip
#: Fields added since schema version 1 began: an entry written before them
#: lacks them, and its article takes their defaults.
LATER_ARTICLE_FIELDS = ("published_local", "authors", "description", "image", "section", "tags", "requested_urls")


def decode(data: bytes) -> Article | Skipped | Unchanged:
    try:
        entry = json.loads(data)
        if entry.get("v") != SCHEMA_VERSION:
            raise UnreadableEntry(f"schema version {entry.get('v')!r}; this Sieve reads version {SCHEMA_VERSION}")
        fetch = Fetch(*entry["fetch"]) if entry["fetch"] is not None else None
        if entry["type"] == "skipped":
            return Skipped(entry["url"], entry["reason"], entry["detail"], fetch)
        if entry["type"] == "unchanged":
            return Unchanged(entry["url"], entry["why"], fetch, entry["fetched_url"], entry.get("requested_urls", []))
        if entry["type"] != "article":
            raise UnreadableEntry(f"unknown document type {entry['type']!r}")
        return Article(
            **{name: entry[name] for name in ARTICLE_FIELDS},
            **{name: entry[name] for name in LATER_ARTICLE_FIELDS if name in entry},
            paragraphs=[Paragraph(position, text) for position, text in entry["paragraphs"]],
            removed=[Removal(*removal) for removal in entry["removed"]],
            signatures={int(k): _unsignature(v) for k, v in entry["signatures"].items()},
            signature=_unsignature(entry["signature"]),
            paragraph_keys={int(k): v for k, v in entry["paragraph_keys"].items()},
            fetch=fetch,
            archive_record=ArchiveRecord(*record) if (record := entry.get("archive_record")) else None,
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise UnreadableEntry(f"not a Sieve document: {exc!r}") from None


def entry_id(value: bytes | str) -> tuple[int, int]:
    """A stream entry id (``<ms>-<seq>``), comparable in stream order."""
    text = value.decode("ascii") if isinstance(value, bytes) else value
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


class FetchMirror:
    """``fetches`` as crawlers need it, in one Redis hash: URL -> JSON
    ``[etag, last_modified, body_hash, fetched_at, is_article]``."""

    def __init__(self, client: redis.Redis):
        self.client = client

    @classmethod
    def from_url(cls, url: str) -> FetchMirror:
        import redis

        return cls(redis.Redis.from_url(url, socket_timeout=30))

    def get(self, url: str) -> PreviousFetch | None:
        data = self.client.hget(FETCHES_KEY, url)
        if data is None:
            return None
        etag, last_modified, body_hash, fetched_at, is_article = json.loads(data)
        return PreviousFetch(Fetch(etag, last_modified, body_hash), fetched_at, is_article)

    def put(self, fetches: dict[str, PreviousFetch], replace_all: bool = False) -> None:
        pipe = self.client.pipeline(transaction=replace_all)
        if replace_all:
            pipe.delete(FETCHES_KEY)
        items = list(fetches.items())
        for start in range(0, len(items), 1000):
            pipe.hset(
                FETCHES_KEY,
                mapping={
                    url: json.dumps([p.fetch.etag, p.fetch.last_modified, p.fetch.body_hash, p.fetched_at, p.is_article])
                    for url, p in items[start : start + 1000]
                },
            )
        pipe.execute()
