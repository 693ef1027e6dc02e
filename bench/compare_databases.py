"""Compare what two Sieve databases store, table by table, times aside.

    python bench/compare_databases.py before.db after.db

A change that should keep behaviour (a refactor, a speed-up) is checked by
crawling the same pages into two databases, before and after, and running
this. Times, process ids and run statistics differ between any two runs and
are left out; article ids may be given in another order when workers finish
out of order, so every reference to an article is compared by the article's
URL and every reference to a boilerplate row by its source and text. Prints
a table of rows and differences per table and the first differences of
each; exits 1 when anything differs.
"""

from __future__ import annotations

import argparse
import collections
import sqlite3
import sys

#: Columns that differ between any two runs of the same crawl.
VARYING = {
    "started_at", "finished_at", "stats", "pid", "first_seen", "last_seen", "changed_at",
    "change_seq", "at", "fetched_at", "checked_at", "found_at", "seen_at", "run_id",
}  # fmt: skip
ARTICLE_REFERENCES = {"article_id", "duplicate_of", "match_article_id", "first_article_id"}
#: Tables whose content is derived from others (the FTS index's shadow
#: tables) or is the run's bookkeeping.
LEFT_OUT = {"runs", "articles_fts_data", "articles_fts_idx", "articles_fts_docsize", "articles_fts_config"}


def rows(db: sqlite3.Connection, table: str) -> collections.Counter:
    urls = dict(db.execute("SELECT id, url FROM articles"))
    boilerplate = {i: (s, t) for i, s, t in db.execute("SELECT id, source, text FROM site_boilerplate")}
    columns = [c[1] for c in db.execute(f"PRAGMA table_info([{table}])")]
    kept = [c for c in columns if c not in VARYING and not (c == "id" and table == "removed")]
    found = collections.Counter()
    for row in db.execute(f"SELECT {', '.join(f'[{c}]' for c in kept)} FROM [{table}]"):
        named = []
        for column, value in zip(kept, row):
            if column in ARTICLE_REFERENCES or (column == "id" and table == "articles"):
                value = urls.get(value, value)
            elif column == "boilerplate_id" or (column == "id" and table == "site_boilerplate"):
                value = boilerplate.get(value, value)
            named.append((column, value))
        found[tuple(named)] += 1
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--show", type=int, default=3, help="differences printed per table")
    args = parser.parse_args()
    before, after = sqlite3.connect(args.before), sqlite3.connect(args.after)

    def tables(db: sqlite3.Connection) -> set[str]:
        return {n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")} - LEFT_OUT

    names = sorted(tables(before) | tables(after))
    print("| table | rows before | rows after | only before | only after |")
    print("|---|---|---|---|---|")
    shown, differs = [], False
    for name in names:
        old = rows(before, name) if name in tables(before) else collections.Counter()
        new = rows(after, name) if name in tables(after) else collections.Counter()
        gone, came = old - new, new - old
        differs |= bool(gone or came)
        print(f"| {name} | {old.total()} | {new.total()} | {gone.total()} | {came.total()} |")
        shown += [(name, "before", r) for r in list(gone)[: args.show]] + [(name, "after", r) for r in list(came)[: args.show]]
    for name, side, row in shown:
        print(f"\n{name}, only {side}:")
        for column, value in row:
            print(f"  {column}: {str(value)[:300]!r}")
    return 1 if differs else 0


if __name__ == "__main__":
    sys.exit(main())
