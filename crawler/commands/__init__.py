"""Sieve's own ``scrapy`` commands (``COMMANDS_MODULE``): ``export``, ``runs``,
``stats`` and ``frontier``, an exit-status-aware ``crawl``, and Scrapy's
debugging tools (``shell``, ``fetch``, ``view``, ``parse``, ``check``) made
to write nothing to the database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from scrapy.exceptions import UsageError
from scrapy.settings import SETTINGS_PRIORITIES

if TYPE_CHECKING:
    import argparse

    import sqlite_utils
    from scrapy.settings import BaseSettings


#: What a tool sets, as scrapy check does: above the project's and the
#: spiders' own settings, below the command line's.
TOOL_PRIORITY = (SETTINGS_PRIORITIES["spider"] + SETTINGS_PRIORITIES["cmdline"]) // 2
#: Extensions that open the database and record the run: off for a tool.
RECORDING_EXTENSIONS = ("crawler.storage.database.Database", "crawler.runs.RunRecord", "crawler.progress.Progress")


class StoreNothing:
    """For Scrapy's commands that fetch and show pages without crawling
    through Sieve's stages: no database opened, no run recorded, no
    conditional requests, no stages (unless :meth:`runs_stages`)."""

    settings: BaseSettings | None

    def runs_stages(self, opts: argparse.Namespace) -> bool:
        return False

    def process_options(self, args: list[str], opts: argparse.Namespace) -> None:
        super().process_options(args, opts)  # type: ignore[misc]
        assert self.settings is not None
        if self.runs_stages(opts):
            return
        extensions = self.settings.getdict("EXTENSIONS")
        self.settings.set("EXTENSIONS", {**extensions, **dict.fromkeys(RECORDING_EXTENSIONS)}, priority=TOOL_PRIORITY)
        self.settings.set("ITEM_PIPELINES", {}, priority=TOOL_PRIORITY)


def open_existing_database(settings: BaseSettings) -> sqlite_utils.Database:
    """The database named by SIEVE_DB, which must exist and be a Sieve
    database at the current schema: a reader never creates or migrates one."""
    from crawler import read

    try:
        return read.open_database(settings.get("SIEVE_DB"), busy_timeout=settings.getfloat("SIEVE_DB_BUSY_TIMEOUT"))
    except read.ReadError as exc:
        raise UsageError(database_error(exc), print_help=False) from None


def database_error(error: ValueError) -> str:
    """A database a reader cannot open, said for a command's user."""
    text = str(error)
    return f"{text} (set SIEVE_DB, e.g. -s SIEVE_DB=/path/to/sieve.db)" if text.startswith("no database at") else text


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in headers]] + [["" if v is None else str(v) for v in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(value.ljust(width) for value, width in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)
