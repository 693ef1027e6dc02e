"""``scrapy stats``: what the Sieve database holds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from scrapy.commands import ScrapyCommand

from crawler.commands import format_table, open_existing_database

if TYPE_CHECKING:
    import argparse


class Command(ScrapyCommand):
    requires_project = True
    requires_crawler_process = False
    default_settings: ClassVar[dict[str, Any]] = {"LOG_ENABLED": False}

    def syntax(self) -> str:
        return "[--sources N]"

    def short_desc(self) -> str:
        return "Summarise the Sieve database: articles, duplicates, removals, skips, sources"

    def add_options(self, parser: argparse.ArgumentParser) -> None:
        super().add_options(parser)
        parser.add_argument("--sources", type=int, default=10, metavar="N", help="how many sources to list (default 10)")

    def run(self, args: list[str], opts: argparse.Namespace) -> None:
        from crawler.storage.connection import database_path  # see crawler.commands

        assert self.settings is not None
        db = open_existing_database(self.settings)

        def scalar(sql: str) -> Any:
            return db.execute(sql).fetchone()[0]

        print(f"database          {database_path(self.settings.get('SIEVE_DB'))} (schema version {scalar('PRAGMA user_version')})")
        print(f"articles          {scalar('SELECT count(*) FROM articles')}")
        print(f"  clean           {scalar('SELECT count(*) FROM clean_articles')}")
        print(f"  near-duplicates {scalar('SELECT count(*) FROM articles WHERE duplicate_of IS NOT NULL')}")
        print(f"sources           {scalar('SELECT count(DISTINCT source) FROM articles')}")
        print(f"site boilerplate  {scalar('SELECT count(*) FROM site_boilerplate')} paragraphs")
        print(f"runs              {scalar('SELECT count(*) FROM runs')}")
        sections = [
            ("paragraphs removed", ["reason", "paragraphs"], "SELECT reason, count(*) FROM removed GROUP BY reason ORDER BY 2 DESC"),
            ("documents skipped", ["reason", "documents"], "SELECT reason, count(*) FROM skipped GROUP BY reason ORDER BY 2 DESC"),
            (
                "sources",
                ["source", "articles", "duplicates", "latest published"],
                # The day alone: published is a UTC time or, when a page gives no time, a day.
                "SELECT source, count(*), count(duplicate_of), max(substr(published, 1, 10)) FROM articles "
                f"GROUP BY source ORDER BY 2 DESC LIMIT {int(opts.sources)}",
            ),
        ]
        for title, headers, sql in sections:
            print(f"\n{title}\n" + format_table(headers, db.execute(sql).fetchall()))
        db.close()
