"""``scrapy export``: the clean articles, for downstream extractors."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.utils.conf import feed_complete_default_values_from_settings
from scrapy.utils.misc import load_object

from crawler.commands import open_existing_database
from crawler.storage import reads

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from scrapy.exporters import BaseItemExporter
    from scrapy.settings import BaseSettings

#: SQLite integers are signed 64-bit.
MAX_RUN_ID = 2**63 - 1
#: Scrapy's feed formats (FEED_EXPORTERS), and the -o extensions that choose them.
FORMATS = ("jsonl", "json", "csv", "xml")
EXTENSIONS = {".jsonl": "jsonl", ".jl": "jsonl", ".json": "json", ".csv": "csv", ".xml": "xml"}


def since_time(value: str) -> str:
    """``--since``: an ISO 8601 date or time, as the UTC string ``changed_at`` holds."""
    # A bare number was once a run id: say where run ids go now.
    if value.strip().isdigit():
        raise UsageError(f"--since takes a date or time (2024-03-01, 2024-03-01T06:00:00Z); for run {value} use --since-run {value}", print_help=False)
    try:
        moment = datetime.fromisoformat(value)
    except (ValueError, OverflowError):
        raise UsageError(f"--since takes an ISO 8601 date or time, not {value!r}", print_help=False) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def since_run(value: str) -> int:
    """``--since-run``: a run id; ascii digits only ("²" is a digit to isdigit)."""
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_RUN_ID:
        raise UsageError(f"--since-run takes a run id (see scrapy runs), not {value!r}", print_help=False)
    return int(value)


def read_cursor(path: str) -> int:
    """The high-water mark a cursor file holds; 0 when there is none yet."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return 0
    except OSError as exc:
        raise UsageError(f"--cursor-file {path}: cannot read it: {exc.strerror or exc}", print_help=False) from None
    if not is_change_number(text):
        raise UsageError(f"--cursor-file {path}: holds {text[:40]!r}, not a change number", print_help=False)
    return int(text)


def is_change_number(text: str) -> bool:
    """Ascii digits of a number SQLite can hold (``change_seq``)."""
    return text.isascii() and text.isdigit() and int(text) <= MAX_RUN_ID


def write_cursor(path: str, value: int) -> None:
    """Replace the cursor file at once: a reader killed midway keeps the old mark."""
    with atomic_file(path, "--cursor-file") as stream:
        stream.write(f"{value}\n".encode())


def is_stdout(path: str | None) -> bool:
    """Whether ``-o`` means standard output: not given, or ``-``."""
    return not path or path == "-"


def output_format(opts: argparse.Namespace) -> str:
    """--format, else the -o file's extension, else (standard output) JSON
    lines; an extension that names no format is one line (exit 2)."""
    if opts.format:
        return opts.format
    if is_stdout(opts.output):
        return "jsonl"
    suffix = Path(opts.output).suffix.lower()
    if suffix not in EXTENSIONS:
        check_target(opts.output, "-o")  # a folder, or a missing one, is the error to report
        # Guessing would write a file that its own name misdescribes.
        given = f"the extension {suffix}" if suffix else "a name without an extension"
        raise UsageError(
            f"-o {opts.output}: cannot tell the format from {given}; end the name in "
            f"{', '.join(EXTENSIONS)}, or give --format {'|'.join(FORMATS)}",
            print_help=False,
        )
    return EXTENSIONS[suffix]


def exporter(settings: BaseSettings, fmt: str, stream: BinaryIO) -> BaseItemExporter:
    """The exporter ``scrapy crawl -o`` uses for ``fmt`` (FEED_EXPORTERS),
    with the options it gives it, so both write the same shape."""
    feed = feed_complete_default_values_from_settings({}, settings)
    exporter_class = load_object(settings.getwithbase("FEED_EXPORTERS")[fmt])
    # FEED_EXPORT_FIELDS is left out: an export has the record's fields.
    return exporter_class(stream, encoding=feed["encoding"], indent=feed["indent"])


@contextmanager
def output(path: str | None) -> Iterator[BinaryIO]:
    """Standard output, or (``-o``) a file as :func:`atomic_file` writes it."""
    if is_stdout(path):
        yield sys.stdout.buffer
        return
    with atomic_file(path, "-o") as stream:
        yield stream


def check_target(path: str, option: str) -> Path:
    """``path`` as a file that can be made: not a folder, in one that exists;
    else one line naming ``option`` (exit 2)."""
    target = Path(path)
    if target.is_dir():
        raise UsageError(f"{option} {path}: is a folder", print_help=False)
    if not target.parent.is_dir():
        raise UsageError(f"{option} {path}: no such folder: {target.parent}", print_help=False)
    return target


@contextmanager
def atomic_file(path: str, option: str) -> Iterator[BinaryIO]:
    """A file that appears only once it is complete; one that cannot be
    written is one line naming ``option`` (exit 2) and leaves nothing."""
    target = check_target(path, option)
    partial = target.with_name(f"{target.name}.partial")
    try:
        with partial.open("wb") as stream:
            yield stream
        os.replace(partial, target)
    except OSError as exc:
        raise UsageError(f"{option} {path}: cannot write it: {exc.strerror or exc}", print_help=False) from None
    finally:
        # On a read-only file system unlink fails even for a file that was
        # never made: the error above is the one to report.
        with suppress(OSError):
            partial.unlink(missing_ok=True)


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return (
            f"[-o FILE] [--format {'|'.join(FORMATS)}] [--since ISO_TIME | --since-run RUN_ID] "
            "[--after N | --cursor-file FILE] [--include-duplicates]"
        )

    def short_desc(self) -> str:
        return "Write the clean articles of the Sieve database (SIEVE_DB), in id order"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: standard output)")
        parser.add_argument("--since", metavar="ISO_TIME", help="only articles whose content changed at or after this time")
        parser.add_argument("--since-run", metavar="RUN_ID", help="only articles written by this run or a later one")
        parser.add_argument(
            "--after", metavar="N", help="only changes after change number N, in change order (duplicates included)"
        )
        parser.add_argument(
            "--cursor-file",
            metavar="FILE",
            help="--after the number FILE holds (0 if there is no FILE), then the last one written back to FILE",
        )
        parser.add_argument(
            "--format", choices=FORMATS, help="default: from the -o file's extension (.jsonl, .jl, .json, .csv, .xml), else jsonl"
        )
        parser.add_argument("--include-duplicates", action="store_true", help="also near-duplicates (see duplicate_of)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        assert self.settings is not None
        conditions, params = [], []
        after = None
        if opts.after is not None and opts.cursor_file:
            raise UsageError("give --after or --cursor-file, not both", print_help=False)
        if opts.after is not None:
            if not is_change_number(opts.after):
                raise UsageError(f"--after takes a change number, not {opts.after!r}", print_help=False)
            after = int(opts.after)
        elif opts.cursor_file:
            after = read_cursor(opts.cursor_file)
        if after is not None:
            # A change can be an article becoming a near-duplicate: a reader
            # following changes sees it (duplicate_of set) and drops it.
            conditions.append("change_seq > ?")
            params.append(after)
        elif not opts.include_duplicates:
            conditions.append("duplicate_of IS NULL")
        if opts.since:
            conditions.append("changed_at >= ?")
            params.append(since_time(opts.since))
        if opts.since_run:
            conditions.append("run_id >= ?")
            params.append(since_run(opts.since_run))
        fmt = output_format(opts)
        db = open_existing_database(self.settings)
        if after:
            last_change = reads.last_change(db)
            if after > last_change:
                given = f"--cursor-file {opts.cursor_file} holds" if opts.cursor_file else "--after is"
                raise UsageError(
                    f"{given} {after}, beyond the last change of this database ({last_change}): it is not the "
                    "database that number came from (replaced, or restored from a backup); to read it all again, "
                    "remove the cursor file or give --after 0",
                    print_help=False,
                )
        if opts.since_run:
            last_run = reads.last_run(db)
            if int(opts.since_run) > last_run:
                raise UsageError(f"--since-run {opts.since_run}: there is no such run (the last is {last_run})", print_help=False)
        order = "change_seq" if after is not None else "id"
        records = reads.article_records(db, " AND ".join(conditions), params, order)
        written, last = 0, after
        try:
            with output(opts.output) as stream:
                feed = exporter(self.settings, fmt, stream)
                feed.start_exporting()
                for record in records:
                    feed.export_item(record)
                    written += 1
                    last = record["change_seq"]
                if fmt == "csv" and not written:
                    # Scrapy's CSV exporter writes its header with the first
                    # row; a header alone still tells a reader the columns.
                    stream.write((",".join(reads.RECORD_FIELDS) + "\r\n").encode())
                feed.finish_exporting()
                stream.flush()  # the records are out before the mark moves past them
        except BrokenPipeError:
            # The reader stopped reading (`| head`): a quiet end, exit 0. Some
            # records may have died in the pipe, so the cursor stays where it
            # was. Python would flush standard output again at exit and fail
            # there: point it at devnull (Python docs, signal, "Note on SIGPIPE").
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return
        finally:
            db.close()
        if opts.cursor_file and written:
            write_cursor(opts.cursor_file, last)
        if not written and (opts.since or opts.since_run):
            print("scrapy export: no article matches (nothing changed since then)", file=sys.stderr)
