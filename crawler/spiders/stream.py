"""The ``stream`` spider: the writer of a cluster."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sqlite3
import time
from typing import TYPE_CHECKING, Any

from crawler.cluster import use_writer_stages
from crawler.errors import SieveError, SpiderArgumentError
from crawler.sieve_settings import check_redis
from crawler.spiders import ItemsInFlight, SieveSpider
from crawler.storage import reads
from crawler.storage.database import Database
from crawler.stream_entries import GROUP, STREAM_KEY, FetchMirror, UnreadableEntry, decode_entry, entry_id

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from typing_extensions import Self

logger = logging.getLogger(__name__)

#: Where entries the writer cannot read are kept, for a human to look at.
UNREADABLE_KEY = f"{STREAM_KEY}:unreadable"
#: ``meta`` key: the id of the last stream entry whose effects are committed.
APPLIED = "stream_applied"
#: Held by the running writer, renewed every LEASE_SECONDS / 5: one writer at a time.
WRITER_KEY = "sieve:writer"
LEASE_SECONDS = 10.0


class AnotherWriter(SieveError):
    """The stream has a writer already."""


def take_writer_lease(client: Any, consumer: str) -> None:
    """Hold the writer's lease, waiting for one left by a writer that died to
    run out; raise if another writer keeps renewing it."""
    deadline = time.monotonic() + LEASE_SECONDS + 1
    while not client.set(WRITER_KEY, consumer, nx=True, px=int(LEASE_SECONDS * 1000)):
        holder = client.get(WRITER_KEY)
        if time.monotonic() > deadline:
            name = holder.decode() if holder else "?"
            raise AnotherWriter(f"another writer ({name}) is running on this stream; a cluster has one writer")
        time.sleep(0.2)


class StreamSpider(SieveSpider):
    """The writer of a cluster: dedups and stores the documents that cluster
    crawlers (``SIEVE_REDIS_URL``) send to the document stream, into
    ``SIEVE_DB``. Run exactly one, on the machine that holds the database.

    Arguments (``-a name=value``):

    ``keep_running``
        ``true``: wait for documents until stopped (a service). By default
        the writer stops once the stream has been empty for
        ``SIEVE_CLUSTER_IDLE_SECONDS`` (a scheduled run).

    One writer at a time: a writer holds a lease in Redis while it runs; a
    second one waits ``LEASE_SECONDS`` for it (the lease of a writer that
    died runs out) and then stops with a one-line error.

    Entries are read with a consumer group, ``SIEVE_STORE_BATCH`` at a time.
    Each batch runs through the dedup and storage stages and is committed
    together with the id of its last entry; only then are its entries
    acknowledged and deleted from the stream. On start, the writer claims
    what a writer that died left pending; entries at or below the committed
    id were applied already and are only acknowledged. An entry that
    :func:`~crawler.stream_entries.decode_entry` refuses is set aside in UNREADABLE_KEY
    with its reason, and acknowledged with its batch; the run fails.
    """

    name = "stream"
    cluster_crawler = False

    def __init__(self, keep_running: str = "false", **kwargs: Any):
        super().__init__(keep_running=keep_running, **kwargs)
        if keep_running.lower() not in ("true", "false"):
            raise SpiderArgumentError(f"keep_running takes true or false, not {keep_running!r}")
        self.keep_running = keep_running.lower() == "true"
        #: Read by the run record: a writer kept running ends when stopped.
        self.runs_until_stopped = self.keep_running
        self.consumer = f"{socket.gethostname()}-{os.getpid()}"

    @classmethod
    def update_settings(cls, settings: BaseSettings) -> None:
        super().update_settings(settings)
        use_writer_stages(settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        if not crawler.settings.get("SIEVE_REDIS_URL"):
            raise SpiderArgumentError("the stream spider reads the cluster's stream: set SIEVE_REDIS_URL")
        if not crawler.settings.get("SIEVE_DB"):
            raise SpiderArgumentError("the stream spider writes to SIEVE_DB, which is empty")
        spider = super().from_crawler(crawler, *args, **kwargs)
        import redis

        # The settings check (an extension) comes after the spider: the lease needs Redis now.
        check_redis(crawler.settings.get("SIEVE_REDIS_URL"))
        take_writer_lease(redis.Redis.from_url(crawler.settings.get("SIEVE_REDIS_URL"), socket_timeout=30), spider.consumer)
        spider.in_flight = ItemsInFlight(crawler)
        return spider

    async def start(self) -> AsyncIterator[Any]:
        import redis.asyncio

        settings = self.settings
        database = self.crawler.get_extension(Database)
        database.hold_commits()
        client = redis.asyncio.Redis.from_url(settings.get("SIEVE_REDIS_URL"))
        mirror = FetchMirror.from_url(settings.get("SIEVE_REDIS_URL"))
        renewal = asyncio.ensure_future(self._keep_lease(client))
        try:
            await self._join_group(client)
            applied = reads.meta(database.open(), APPLIED)
            mirror.put(reads.previous_fetches(database.open()), replace_all=True)
            async for entries in self._batches(client, settings.getint("SIEVE_STORE_BATCH")):
                documents = []
                for stream_id, fields in entries:
                    if fields is None:
                        continue  # deleted from the stream while pending
                    if applied is not None and entry_id(stream_id) <= entry_id(applied):
                        self.crawler.stats.inc_value("sieve/stream/already_applied")
                        continue
                    try:
                        documents.append(self._document(fields))
                    except UnreadableEntry as exc:
                        # Set aside before the batch commits: a writer that dies
                        # first sets it aside again, rather than not at all.
                        await self._set_aside(client, stream_id, fields, exc)
                self.in_flight.add(len(documents))
                for document in documents:
                    yield document
                await self.in_flight.wait_until(0)  # the whole batch through dedup and storage
                last = max([applied or "0-0", *(stream_id.decode("ascii") for stream_id, _ in entries)], key=entry_id)
                if not self._commit(database, last):
                    return
                applied = last
                mirror.put(reads.previous_fetches(database.open(), self._fetched_urls(documents)))
                await self.acknowledge(client, [stream_id for stream_id, _ in entries])
                self.crawler.stats.inc_value("sieve/stream/applied", len(documents))
        finally:
            renewal.cancel()
            try:
                if await client.get(WRITER_KEY) == self.consumer.encode():
                    await client.delete(WRITER_KEY)
            finally:
                await client.aclose()

    async def _batches(self, client: Any, size: int) -> AsyncIterator[list[tuple[bytes, dict[bytes, bytes] | None]]]:
        """Entries to apply, ``size`` at a time: first those a writer before
        this one left pending, then new ones, until the stream has been
        empty for SIEVE_CLUSTER_IDLE_SECONDS (unless ``keep_running``)."""
        claimed = await self._claim(client)
        for start in range(0, len(claimed), size):
            yield claimed[start : start + size]
        idle_seconds = self.settings.getfloat("SIEVE_CLUSTER_IDLE_SECONDS")
        # Blocking for less than the idle time: a short idle time is a short wait.
        block = max(100, int(min(idle_seconds, 1.0) * 1000))
        loop = asyncio.get_running_loop()
        idle_since = loop.time()
        while True:
            response = await client.xreadgroup(GROUP, self.consumer, {STREAM_KEY: ">"}, count=size, block=block)
            if response and response[0][1]:
                yield response[0][1]
                idle_since = loop.time()
            elif not self.keep_running and loop.time() - idle_since >= idle_seconds:
                logger.info("The document stream has been empty for %.0f s: closing", idle_seconds)
                return

    async def _keep_lease(self, client: Any) -> None:
        while True:
            await asyncio.sleep(LEASE_SECONDS / 5)
            await client.set(WRITER_KEY, self.consumer, px=int(LEASE_SECONDS * 1000))

    async def _join_group(self, client: Any) -> None:
        import redis

        try:
            await client.xgroup_create(STREAM_KEY, GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _claim(self, client: Any) -> list[tuple[bytes, dict[bytes, bytes] | None]]:
        """Take over the entries that writers before this one read but did
        not acknowledge, in stream order; remove those writers from the group."""
        claimed: list[tuple[bytes, dict[bytes, bytes] | None]] = []
        cursor = "0-0"
        while True:
            cursor, entries, deleted = await client.xautoclaim(STREAM_KEY, GROUP, self.consumer, min_idle_time=0, start_id=cursor, count=1000)
            claimed += entries
            claimed += [(stream_id, None) for stream_id in deleted]
            if entry_id(cursor) == (0, 0):
                break
        for consumer in await client.xinfo_consumers(STREAM_KEY, GROUP):
            if consumer["name"].decode() != self.consumer:
                await client.xgroup_delconsumer(STREAM_KEY, GROUP, consumer["name"])
        if claimed:
            logger.info("Claimed %d documents that an earlier writer read but did not acknowledge", len(claimed))
        return sorted(claimed, key=lambda entry: entry_id(entry[0]))

    def _commit(self, database: Database, last: str) -> bool:
        """Commit the batch with its place in the stream; False when the
        database failed (the batch is rolled back, its entries stay pending)."""
        if database.failure is not None:
            return False
        try:
            database.set_meta(APPLIED, last)
            database.commit()
        except sqlite3.Error:
            return False  # Database.fail has recorded it: the run fails
        return True

    async def acknowledge(self, client: Any, ids: list[bytes]) -> None:
        # Deleted as well: the stream's length is then the writer's backlog,
        # which crawlers watch (SIEVE_STREAM_MAX_BACKLOG).
        async with client.pipeline(transaction=True) as pipe:
            await pipe.xack(STREAM_KEY, GROUP, *ids).xdel(STREAM_KEY, *ids).execute()

    @staticmethod
    def _document(fields: dict[bytes, bytes]) -> Any:
        if b"doc" not in fields:
            raise UnreadableEntry("doc: missing (the entry holds no document)")
        return decode_entry(fields[b"doc"])

    async def _set_aside(self, client: Any, stream_id: bytes, fields: dict[bytes, bytes], error: Exception) -> None:
        """Keep the entry in UNREADABLE_KEY, with its id in the stream and why
        it cannot be read first (what ``XRANGE`` shows before the document);
        the batch goes on without it, and acknowledges and deletes it."""
        logger.error("Stream entry %s cannot be read (%s): kept in %s", stream_id.decode(), error, UNREADABLE_KEY)
        kept = {b"id": stream_id, b"reason": str(error).encode("utf-8")}
        kept.update((name, value) for name, value in fields.items() if name not in kept)
        await client.xadd(UNREADABLE_KEY, kept)
        self.crawler.stats.inc_value("sieve/stream/unreadable")

    @staticmethod
    def _fetched_urls(documents: list[Any]) -> list[str]:
        urls = {document.url for document in documents}
        urls |= {url for document in documents if (url := getattr(document, "fetched_url", None))}
        return sorted(urls)
