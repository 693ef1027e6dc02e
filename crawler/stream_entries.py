"""The document stream of a cluster (``SIEVE_REDIS_URL``): crawler machines
send each finished article, skip or unchanged document to a Redis Stream;
one writer (``scrapy crawl stream``) dedups and stores them.

- :func:`encode_entry` / :func:`decode_entry`: a document as one JSON entry with a
  schema version (never pickle: a Redis server is not a trusted source of
  code). An article travels with what the writer needs from the document
  stages: its kept paragraphs, the removals so far, MinHash signatures
  (raw ``uint32`` bytes, base64) and LSH keys. :func:`decode_entry` checks every
  field (:data:`SCHEMAS`) and raises :class:`UnreadableEntry`, naming the
  field, for an entry the writer could not store.
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
import binascii
import dataclasses
import json
from array import array
from collections.abc import Callable
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from crawler.errors import SieveError
from crawler.items import SIGNATURE_VALUES, ArchiveRecord, Article, Fetch, Fingerprints, Paragraph, Removal, Skipped, Unchanged
from crawler.storage.reads import PreviousFetch
from crawler.web_urls import is_web_url

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
    """A stream entry this version of Sieve cannot read; the message is the
    reason, naming the field (``url: expected a string, got int``)."""


def _fetch(fetch: Fetch | None) -> list[str | None] | None:
    return None if fetch is None else [fetch.etag, fetch.last_modified, fetch.body_hash, fetch.fetched_at]


def _signature(signature: np.ndarray | None) -> str | None:
    # MinHash signatures are uint32 arrays (pipelines.fingerprints).
    return None if signature is None else base64.b64encode(signature.tobytes()).decode("ascii")


def encode_entry(item: Article | Skipped | Unchanged) -> bytes:
    if isinstance(item, Skipped):
        entry: dict[str, Any] = {"type": "skipped", "url": item.url, "reason": item.reason, "detail": item.detail}
    elif isinstance(item, Unchanged):
        entry = {
            "type": "unchanged", "url": item.url, "reason": item.reason, "fetched_url": item.fetched_url,
            "requested_urls": item.requested_urls,
        }  # fmt: skip
    else:
        found = item.fingerprints or Fingerprints({}, None, {})
        entry = {
            "type": "article",
            **{name: getattr(item, name) for name in (*ARTICLE_FIELDS, *LATER_ARTICLE_FIELDS)},
            "paragraphs": [[p.position, p.text] for p in item.paragraphs],
            "removed": [[r.position, r.text, r.reason, r.match_position, r.match_article] for r in item.removed],
            "signatures": {str(k): _signature(v) for k, v in found.signatures.items()},
            "signature": _signature(found.signature),
            "paragraph_keys": {str(k): v for k, v in found.paragraph_keys.items()},
            "archive_record": dataclasses.astuple(item.archive_record) if item.archive_record else None,
        }
    entry["fetch"] = _fetch(getattr(item, "fetch", None))
    entry["v"] = SCHEMA_VERSION
    return json.dumps(entry, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# Reading an entry. The writer applies whatever decode_entry() returns, so every
# field is checked here: a value of the wrong type would otherwise fail the
# SQLite write of its whole batch, then every later writer's on the same
# entry, and the stream would never drain. Each field has a converter that
# returns the value as the items hold it or raises _Wrong: small closures
# over type() checks, because decode_entry() runs for every document the writer
# applies.


class _Wrong(Exception):
    """What is wrong with a value, and where in the field it is (``[3].text``)."""

    def __init__(self, problem: str):
        super().__init__(problem)
        self.problem = problem
        self.where = ""

    def at(self, place: str) -> _Wrong:
        self.where = place + self.where
        return self


Convert = Callable[[Any], Any]

_JSON_NAMES = {str: "string", int: "int", float: "float", bool: "bool", list: "list", dict: "object", type(None): "null"}
#: SQLite's INTEGER: a larger int fails the write.
_SQLITE_INTS = range(-(1 << 63), 1 << 63)


def _expected(what: str, value: Any) -> _Wrong:
    got = f"a list of {len(value)}" if type(value) is list else _JSON_NAMES.get(type(value), type(value).__name__)
    return _Wrong(f"expected {what}, got {got}")


def _str(value: Any) -> str:
    if type(value) is not str:
        raise _expected("a string", value)
    # A JSON escape can hold half a surrogate pair, which is not UTF-8 and
    # cannot be stored; isascii() is free, the encoding only for other text.
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _Wrong("not UTF-8 text (a lone surrogate)") from None
    return value


def _int(value: Any) -> int:
    if type(value) is not int:  # JSON's true and false are ints to Python
        raise _expected("an int", value)
    if value not in _SQLITE_INTS:
        raise _Wrong(f"{value} is out of SQLite's integer range")
    return value


def _null(value: Any) -> None:
    if value is not None:
        raise _expected("null", value)


def _or_null(convert: Convert) -> Convert:
    def convert_or_null(value: Any) -> Any:
        return None if value is None else convert(value)

    return convert_or_null


_opt_str = _or_null(_str)


def _shown(url: str) -> str:
    return repr(url if len(url) <= 60 else url[:60] + "...")


def _document_url(value: Any) -> str:
    """What a document is stored under: what the spiders fetch (an http(s)
    URL, :func:`crawler.web_urls.is_web_url`) or a local file as the files spider
    names it (``Path.as_uri()``: ``file:///...``)."""
    url = _str(value)
    if not (is_web_url(url) or url.startswith("file:///")):
        raise _Wrong(f"{_shown(url)} is not an http, https or file URL")
    return url


def _web_url(value: Any) -> str:
    url = _str(value)
    if not is_web_url(url):
        raise _Wrong(f"{_shown(url)} is not an http or https URL")
    return url


def _list_of(convert: Convert) -> Convert:
    def convert_list(value: Any) -> list[Any]:
        if type(value) is not list:
            raise _expected("a list", value)
        converted: list[Any] = []
        try:
            for item in value:
                converted.append(convert(item))
        except _Wrong as wrong:
            raise wrong.at(f"[{len(converted)}]") from None  # the first not converted
        return converted

    return convert_list


def _ints(value: Any) -> list[int]:
    """A list of ints (LSH keys, some ten a paragraph), checked in one pass
    of C; the slow pass only finds which one is wrong."""
    if type(value) is not list:
        raise _expected("a list", value)
    try:
        array("q", value)
    except (TypeError, OverflowError):
        return _list_of(_int)(value)  # raises _Wrong, naming the key
    return value


def _row(*columns: tuple[str, Convert], make: Callable[..., Any], required: int | None = None) -> Convert:
    """A JSON list of ``columns``, as ``make(*values)``; an entry may lack the
    columns after the first ``required`` (added since version 1 began)."""
    names = [name for name, _ in columns]
    converters = [convert for _, convert in columns]
    most = len(columns)
    least = most if required is None else required
    shape = f"a list of {most}" if least == most else f"a list of {least} to {most}"

    def convert_row(value: Any) -> Any:
        if type(value) is not list or not least <= len(value) <= most:
            raise _expected(shape, value)
        converted: list[Any] = []
        try:
            for convert, item in zip(converters, value):
                converted.append(convert(item))
        except _Wrong as wrong:
            raise wrong.at(f".{names[len(converted)]}") from None
        return make(*converted)

    return convert_row


def _by_position(convert: Convert) -> Convert:
    """A JSON object keyed by paragraph position, as a dict keyed by int."""

    def convert_object(value: Any) -> dict[int, Any]:
        if type(value) is not dict:
            raise _expected("an object", value)
        converted = {}
        for key, item in value.items():
            if not (key.isascii() and key.isdigit()):
                raise _Wrong(f"key {_shown(key)} is not a paragraph position")
            try:
                converted[int(key)] = convert(item)
            except _Wrong as wrong:
                raise wrong.at(f"[{key}]") from None
        return converted

    return convert_object


def _minhash(value: Any) -> np.ndarray:
    import numpy as np

    if type(value) is not str:
        raise _expected("a string", value)
    try:
        data = binascii.a2b_base64(value, strict_mode=True)
    except ValueError:  # binascii.Error, or a character that is not ASCII
        raise _Wrong("not base64") from None
    if len(data) != 4 * SIGNATURE_VALUES:
        raise _Wrong(f"{len(data)} bytes, not {SIGNATURE_VALUES} uint32 values")
    return np.frombuffer(data, dtype=np.uint32)


def _article(**fields: Any) -> Article:
    paragraphs, keys = fields["paragraphs"], fields.pop("paragraph_keys")
    # The database keys an article's paragraphs by position...
    for before, after in pairwise(paragraphs):
        if after.position <= before.position:
            raise UnreadableEntry(f"paragraphs: position {after.position} after {before.position}")
    # ...and dedup looks up each one's LSH keys (it makes them all when there are none).
    if keys and (missing := next((p.position for p in paragraphs if p.position not in keys), None)) is not None:
        raise UnreadableEntry(f"paragraph_keys: none for paragraph {missing}")
    found = Fingerprints(fields.pop("signatures"), fields.pop("signature"), keys)
    return Article(**fields, fingerprints=found)


# fetched_at, its fourth column, was added since version 1 began.
_FETCH = _or_null(
    _row(("etag", _opt_str), ("last_modified", _opt_str), ("body_hash", _opt_str), ("fetched_at", _opt_str), make=Fetch, required=3)
)
_URLS = _list_of(_document_url)
_STRS = _list_of(_str)

#: An article's attributes that its entry carries as they are...
ARTICLE_FIELDS: dict[str, Convert] = {
    "url": _document_url, "kind": _str, "source": _str, "canonical_url": _or_null(_web_url), "title": _opt_str,
    "author": _opt_str, "published": _opt_str, "language": _opt_str, "sitename": _opt_str,
    "fetched_url": _or_null(_document_url),
}  # fmt: skip
#: ...and those added since schema version 1 began: an entry written before
#: them lacks them, and its article takes their defaults.
LATER_ARTICLE_FIELDS: dict[str, Convert] = {
    "published_local": _opt_str, "authors": _STRS, "description": _opt_str, "image": _opt_str, "section": _opt_str,
    "tags": _STRS, "requested_urls": _URLS,
}  # fmt: skip

#: Each document type: what makes it, its fields, and those an entry may lack.
SCHEMAS: dict[str, tuple[Callable[..., Any], dict[str, Convert], dict[str, Convert]]] = {
    # What a skip records is the URL the spider refused, as it read it
    # (bad-url, a WARC record of a dns: target): any string.
    "skipped": (Skipped, {"url": _str, "reason": _str, "detail": _str, "fetch": _FETCH}, {}),
    "unchanged": (
        Unchanged,
        {"url": _document_url, "reason": _str, "fetch": _FETCH, "fetched_url": _or_null(_document_url)},
        {"requested_urls": _URLS},
    ),
    "article": (
        _article,
        {
            **ARTICLE_FIELDS,
            "paragraphs": _list_of(_row(("position", _int), ("text", _str), make=Paragraph)),
            "removed": _list_of(
                _row(
                    ("position", _int), ("text", _str), ("reason", _str), ("match_position", _or_null(_int)),
                    # An article id: only the writer's dedup sets one, from its own
                    # database; one from elsewhere would fail the foreign key.
                    ("match_article", _null),
                    make=Removal,
                )  # fmt: skip
            ),
            "signatures": _by_position(_minhash),
            "signature": _or_null(_minhash),
            "paragraph_keys": _by_position(_ints),
            "fetch": _FETCH,
        },
        {
            **LATER_ARTICLE_FIELDS,
            "archive_record": _or_null(_row(("file", _str), ("offset", _int), ("record_id", _opt_str), make=ArchiveRecord)),
        },
    ),
}


def decode_entry(data: bytes) -> Article | Skipped | Unchanged:
    """The document of a stream entry; :class:`UnreadableEntry`, with the
    reason, if the entry does not hold one as :func:`encode` writes it."""
    try:
        entry = json.loads(data)
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than Python's stack
        raise UnreadableEntry(f"not JSON: {exc}") from None
    if type(entry) is not dict:
        raise UnreadableEntry(f"not a Sieve document: {_expected('a JSON object', entry).problem}")
    version = entry.get("v")
    if type(version) is not int or version != SCHEMA_VERSION:
        raise UnreadableEntry(f"schema version {repr(version)[:20]}; this Sieve reads version {SCHEMA_VERSION}")
    kind = entry.get("type")
    if type(kind) is not str or kind not in SCHEMAS:
        raise UnreadableEntry(f"type: {repr(kind)[:60]} is not one of {', '.join(SCHEMAS)}")
    if kind == "unchanged" and "why" in entry and "reason" not in entry:
        entry["reason"] = entry.pop("why")  # as crawlers of an earlier Sieve name it
    make, required, later = SCHEMAS[kind]
    fields: dict[str, Any] = {}
    name = ""
    try:
        for name, convert in required.items():
            if name not in entry:
                raise UnreadableEntry(f"{name}: missing")
            fields[name] = convert(entry[name])
        for name, convert in later.items():
            if name in entry:
                fields[name] = convert(entry[name])
    except _Wrong as wrong:
        raise UnreadableEntry(f"{name}{wrong.where}: {wrong.problem}") from None
    return make(**fields)


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
