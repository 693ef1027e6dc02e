"""``scrapy export``: the clean articles, for downstream extractors."""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar

from scrapy.commands import ScrapyCommand
from scrapy.exceptions import UsageError
from scrapy.utils.conf import feed_complete_default_values_from_settings
from scrapy.utils.misc import load_object

from crawler import read
from crawler.commands import database_error
from crawler.storage import reads

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from scrapy.exporters import BaseItemExporter
    from scrapy.settings import BaseSettings

#: Scrapy's feed formats (FEED_EXPORTERS), and the -o extensions that choose them.
FORMATS = ("jsonl", "json", "csv", "xml")
EXTENSIONS = {".jsonl": "jsonl", ".jl": "jsonl", ".json": "json", ".csv": "csv", ".xml": "xml"}


def since_time(value: str) -> str:
    """``--since``: an ISO 8601 date or time."""
    # A bare number was once a run id: say where run ids go now.
    if value.strip().isdigit():
        raise UsageError(f"--since takes a date or time (2024-03-01, 2024-03-01T06:00:00Z); for run {value} use --since-run {value}", print_help=False)
    try:
        return read.utc_time(value)
    except (read.ReadError, OverflowError):
        raise UsageError(f"--since takes an ISO 8601 date or time, not {value!r}", print_help=False) from None


def since_run(value: str) -> int:
    """``--since-run``: a run id; ascii digits only ("²" is a digit to isdigit)."""
    if not read.is_change_number(value):
        raise UsageError(f"--since-run takes a run id (see scrapy runs), not {value!r}", print_help=False)
    return int(value)


def after_mark(opts: argparse.Namespace) -> int | None:
    """Where ``--after`` or ``--cursor-file`` starts; None for neither."""
    if opts.after is not None and opts.cursor_file:
        raise UsageError("give --after or --cursor-file, not both", print_help=False)
    if opts.after is not None:
        if not read.is_change_number(opts.after):
            raise UsageError(f"--after takes a change number, not {opts.after!r}", print_help=False)
        return int(opts.after)
    if opts.cursor_file:
        try:
            return read.read_cursor(opts.cursor_file)
        except read.ReadError as exc:
            raise UsageError(f"--cursor-file {exc}", print_help=False) from None
    return None


def write_cursor(path: str, value: int) -> None:
    try:
        read.write_cursor(path, value)
    except OSError as exc:
        raise UsageError(f"--cursor-file {path}: cannot write it: {exc.strerror or exc}", print_help=False) from None


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
        after = after_mark(opts)
        since = since_time(opts.since) if opts.since else None
        first_run = since_run(opts.since_run) if opts.since_run else None
        fmt = output_format(opts)
        db_path = self.settings.get("SIEVE_DB")
        try:
            if after is not None:
                records = read.changes(db_path, after)
            else:
                records = read.articles(db_path, since=since, since_run=first_run, include_duplicates=opts.include_duplicates)
        except read.MarkBeyondLastChange as exc:
            given = f"--cursor-file {opts.cursor_file} holds" if opts.cursor_file else "--after is"
            raise UsageError(
                f"{given} {exc.mark}, beyond the last change of this database ({exc.last}): it is not the "
                "database that number came from (replaced, or restored from a backup); to read it all again, "
                "remove the cursor file or give --after 0",
                print_help=False,
            ) from None
        except read.NoSuchRun as exc:
            raise UsageError(f"--since-run {exc.run}: there is no such run (the last is {exc.last})", print_help=False) from None
        except read.ReadError as exc:
            raise UsageError(database_error(exc), print_help=False) from None
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
            records.close()
        if opts.cursor_file and written:
            write_cursor(opts.cursor_file, last)
        if not written and (opts.since or opts.since_run):
            print("scrapy export: no article matches (nothing changed since then)", file=sys.stderr)
