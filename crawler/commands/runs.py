"""``scrapy runs``: the recent runs and what each did."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from scrapy.commands import ScrapyCommand

from crawler.commands import format_table, open_existing_database

if TYPE_CHECKING:
    import argparse


def _seconds(started: str | None, finished: str | None) -> str:
    if not started or not finished:
        return ""
    delta = datetime.fromisoformat(finished) - datetime.fromisoformat(started)
    return f"{delta.total_seconds():.0f}s"


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[--limit N]"

    def short_desc(self) -> str:
        return "List the recent runs recorded in the Sieve database, with their counters"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--limit", type=int, default=20, metavar="N", help="how many runs (default 20)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        from crawler.runs import sum_counters  # with the database: see crawler.commands

        assert self.settings is not None
        db = open_existing_database(self.settings)
        rows = []
        for run_id, spider, run_args, started, finished, status, stats in db.execute(
            "SELECT id, spider, args, started_at, finished_at, status, stats FROM runs ORDER BY id DESC LIMIT ?",
            [opts.limit],
        ):
            # A run still going (or killed) has no counters: blank, not 0.
            counters = json.loads(stats) if stats else None
            rows.append(
                [
                    run_id,
                    spider,
                    status,
                    started,
                    _seconds(started, finished),
                    *(
                        ("",) * 5
                        if counters is None
                        else (
                            counters.get("sieve/articles_stored", 0),
                            sum_counters(counters, "sieve/unchanged/"),
                            counters.get("sieve/dedup/near_duplicates", 0),
                            sum_counters(counters, "sieve/skipped/"),
                            sum_counters(counters, "sieve/paragraphs_removed/"),
                        )
                    ),
                    " ".join(f"{k}={v}" for k, v in json.loads(run_args or "{}").items() if v is not None),
                ]
            )
        headers = ["run", "spider", "status", "started", "took", "stored", "unchanged", "duplicates", "skipped", "removed", "args"]
        print(format_table(headers, rows))
        db.close()
