"""Reading a Sieve database from Python: the records ``scrapy export``
writes, one at a time (memory stays flat), for downstream programs.

    from crawler import read

    for record in read.articles("sieve.db", since="2024-03-01"):
        ...
    for record in read.follow("sieve.db", "summariser.cursor"):
        ...  # each change once, across calls and restarts

A reader never creates, migrates or writes to the database.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import suppress
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

#: SQLite integers are signed 64-bit.
MAX_CHANGE = 2**63 - 1
#: ``follow`` writes its cursor at least every this many records.
CURSOR_EVERY = 500


class ReadError(ValueError):
    """What keeps a read from being done, in one line."""


class MarkBeyondLastChange(ReadError):
    def __init__(self, mark: int, last: int):
        super().__init__(
            f"change {mark} is beyond the last change of this database ({last}): it is not the database that "
            "number came from (replaced, or restored from a backup); to read it all again, start from 0"
        )
        self.mark, self.last = mark, last


class NoSuchRun(ReadError):
    def __init__(self, run: int, last: int):
        super().__init__(f"there is no run {run} (the last is {last})")
        self.run, self.last = run, last


def articles(
    db_path: str | os.PathLike[str],
    *,
    since: str | date | None = None,
    since_run: int | None = None,
    include_duplicates: bool = False,
) -> Iterator[dict[str, Any]]:
    """The clean articles in id order: those whose content changed at or
    after ``since`` (ISO 8601, or a date or datetime; a time without an
    offset is UTC), or written by run ``since_run`` or a later one;
    near-duplicates too with ``include_duplicates``."""
    where, params = [] if include_duplicates else ["duplicate_of IS NULL"], []
    if since is not None:
        where.append("changed_at >= ?")
        params.append(utc_time(since))
    if since_run is not None:
        where.append("run_id >= ?")
        params.append(since_run)
    return _records(db_path, " AND ".join(where), params, "id", since_run=since_run)


def changes(db_path: str | os.PathLike[str], after: int = 0) -> Iterator[dict[str, Any]]:
    """Every change after change number ``after``, in change order: new and
    changed articles, and articles that became near-duplicates
    (``duplicate_of`` set: a reader keeping a copy drops them)."""
    return _records(db_path, "change_seq > ?", [after], "change_seq", after=after)


def follow(
    db_path: str | os.PathLike[str], cursor_file: str | os.PathLike[str], *, poll_seconds: float | None = None
) -> Iterator[dict[str, Any]]:
    """The changes after the mark ``cursor_file`` holds (none yet: all of
    them), as :func:`changes`. A record counts as read once the caller asks
    for the next one; the mark moves past it then (written every
    ``CURSOR_EVERY`` records and at the end), so a reader that stops or
    crashes gets again, next time, at most the records since the last mark,
    never fewer. With ``poll_seconds``, waits that long when there is
    nothing new and looks again, until the caller stops."""
    mark = read_cursor(cursor_file)
    written = mark
    try:
        while True:
            for record in changes(db_path, after=mark):
                yield record
                mark = record["change_seq"]
                if mark - written >= CURSOR_EVERY:
                    write_cursor(cursor_file, mark)
                    written = mark
            if mark != written:
                write_cursor(cursor_file, mark)
                written = mark
            if poll_seconds is None:
                return
            time.sleep(poll_seconds)
    finally:
        if mark != written:
            write_cursor(cursor_file, mark)


def utc_time(value: str | date) -> str:
    """A date or time as the UTC string ``changed_at`` holds."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ReadError(f"not an ISO 8601 date or time: {value!r}") from None
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def is_change_number(text: str) -> bool:
    """Ascii digits of a number SQLite can hold (``change_seq``)."""
    return text.isascii() and text.isdigit() and int(text) <= MAX_CHANGE


def read_cursor(path: str | os.PathLike[str]) -> int:
    """The mark a cursor file holds; 0 when there is no such file yet."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise ReadError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if not is_change_number(text):
        raise ReadError(f"{path}: holds {text[:40]!r}, not a change number")
    return int(text)


def write_cursor(path: str | os.PathLike[str], value: int) -> None:
    """Replace the cursor file at once: a reader killed midway keeps the old mark."""
    target = Path(path)
    partial = target.with_name(f"{target.name}.partial")
    try:
        partial.write_text(f"{value}\n", encoding="utf-8")
        os.replace(partial, target)
    finally:
        with suppress(OSError):
            partial.unlink(missing_ok=True)


def open_database(db_path: str | os.PathLike[str], busy_timeout: float = 60.0) -> Any:
    """The database at ``db_path``, which must exist and be a Sieve database
    at the current schema, opened for reading (a ``sqlite_utils.Database``)."""
    from crawler.storage import connection

    path = connection.database_path(str(db_path))
    if not Path(path).exists():
        raise ReadError(f"no database at {path}")
    try:
        return connection.connect(path, busy_timeout=busy_timeout, writer=False)
    except connection.DatabaseError as exc:
        raise ReadError(str(exc)) from None


def _records(
    db_path: str | os.PathLike[str], where: str, params: list[Any], order: str, *, after: int = 0, since_run: int | None = None
) -> Iterator[dict[str, Any]]:
    # Opened and checked before the first record is asked for, so that a
    # wrong database or mark is an error at the call.
    from crawler.storage import reads

    db = open_database(db_path)
    try:
        if after and after > (last := reads.last_change(db)):
            raise MarkBeyondLastChange(after, last)
        if since_run is not None and since_run > (last := reads.last_run(db)):
            raise NoSuchRun(since_run, last)
    except BaseException:
        db.close()
        raise
    return _rows_then_close(db, reads.article_records(db, where, params, order))


def _rows_then_close(db: Any, rows: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    try:
        yield from rows
    finally:
        db.close()
