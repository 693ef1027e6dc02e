"""Publication dates and authors: the day Sieve stores as ``published`` for the
200 pages of the Media Cloud date benchmark, against their true day, beside
htmldate and trafilatura on the same HTML in the same run; and how often the
``author`` Sieve stores holds a gold name, on the benchmark pages whose ground
truth names one (issue 22).

    python bench/dates.py                  # both
    python bench/dates.py --dates-only
    python bench/dates.py --authors-only
    python bench/dates.py --misses 40      # list more of Sieve's misses

Dates. The pages (``../shared/bench/dates-mediacloud/html/<key>.html.gz``,
truth in its ``ground-truth.json``: ``datePublished``, a day, on 195 of the
200 pages, and the page's ``url``; read at run time, nothing copied) go
through ``scrapy crawl files`` into a temporary database, as a user would run
it; the key of a stored article is its file name before the first dot, and a
page Sieve skipped counts as one without a date. Its ``published`` is
compared on its first ten characters (the day as written, before any
conversion of its time zone). Then, in this process, on the same HTML:
``htmldate.find_date`` with ``original_date=True`` and with its defaults,
``trafilatura.extract_metadata(html).date`` and
``trafilatura.bare_extraction(html, with_metadata=True).date``, each without
and with the page's web URL, and Sieve's rule itself (trafilatura's date, else
``htmldate.find_date(original_date=False)``) run in this process with the
file's URL and with the web URL. The files spider gives a page its
``file://`` URL, not its web URL, and htmldate reads dates in URLs (a fair
number of the URLs here have a year in them; the script counts them): the
rows without the URL are the ones comparable with the crawl; those with it
show what a web crawl of the same pages could get. The accuracy is the share
of the 195 pages with a true day on which a method gives that day (the
figures in the issue are on 195); the 5 pages without one are counted apart
(a method that gives them no date is right there). ms a page is CPU time
(``time.process_time``) in this process, htmldate's and trafilatura's
per-string caches emptied before each method; for the crawl it is the CPU
of its extraction stage as the crawl counts it (``sieve/cpu_us/...``), which
extracts the text as well: not comparable with the others, given for scale.
The methods are timed warm: a first pass of ``htmldate.find_date`` over the
pages, timed apart, pays what a fresh process pays once (dateparser compiles
each locale's expressions). The whole run takes about 3 minutes on 2 slow
CPUs (the crawl under a minute of it).

Authors. A set counts if its ``ground-truth.json`` has an author field
(``author``, ``authors``, ``byline`` or ``creator``; a string, or a list of
names) on some pages. On those pages, a gold name is held when, lower-cased
and with its whitespace collapsed, it is a substring of Sieve's stored
``author`` treated the same way; the figure is the share of pages where at
least one gold name is held, beside ``trafilatura.extract_metadata``'s author
in the same run. Values that look like junk are listed: a month name, a
digit, or no gold name in them. When no set has author ground truth the
script says so, and lists instead the authors Sieve stores on the date pages
that look like junk on their face (a month or weekday name, a digit, one word
only: the last are often a news agency, not necessarily wrong).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
BENCH = REPO.parent / "shared" / "bench"
DATA = BENCH / "dates-mediacloud"
AUTHOR_SETS = ("dates-mediacloud", "article-extraction", "l3s-gn1", "dragnet")
AUTHOR_FIELDS = ("author", "authors", "byline", "creator")
KEPT_CACHES = {"get_external_parser", "month_words"}
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}$")
DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")
YEAR = re.compile(r"(?<!\d)(?:19|20)\d\d(?!\d)")
MONTHS = re.compile(
    r"\b(january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec)\b",
    re.IGNORECASE,
)
WEEKDAYS = re.compile(r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)\b", re.IGNORECASE)


def key_of(name: str) -> str:
    return name.split(".")[0]


def read_set(data: Path) -> tuple[dict[str, dict], dict[str, str]]:
    """ground-truth.json, and the pages (``html/*.html.gz``) by key."""
    truth = json.loads((data / "ground-truth.json").read_text())
    pages = {key_of(path.name): gzip.decompress(path.read_bytes()).decode("utf-8", "replace") for path in sorted((data / "html").glob("*.html.gz"))}
    return truth, pages


def file_url(data: Path, key: str) -> str:
    """The URL the files spider gives the page (it has no date in it)."""
    from w3lib.url import safe_url_string

    return safe_url_string((data / "html" / f"{key}.html.gz").resolve().as_uri(), "utf-8")


def sieve(html_dir: Path) -> tuple[dict[str, tuple[str | None, str | None]], dict[str, str], float, dict]:
    """``scrapy crawl files`` of the folder into a temporary database: per key,
    the stored (published, author); the keys skipped, with their reason; wall
    seconds; the run's stats."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "sieve.db"
        command = [sys.executable, "-m", "scrapy", "crawl", "files", "-a", f"path={html_dir}", "-s", f"SIEVE_DB={db}", "-s", "LOG_LEVEL=WARNING"]
        started = time.perf_counter()
        subprocess.run(command, cwd=REPO, check=True)
        elapsed = time.perf_counter() - started
        conn = sqlite3.connect(db)
        # The day the page gives (published_local), as its readers saw it.
        rows = conn.execute("SELECT url, coalesce(published_local, published), author FROM articles").fetchall()
        # Stored under a canonical URL the page declares, an article is
        # found from the file's URL it was read from.
        rows += conn.execute(
            "SELECT u.url, coalesce(a.published_local, a.published), a.author FROM article_urls u "
            "JOIN articles a ON a.id = u.article_id WHERE u.how = 'fetched'"
        ).fetchall()
        stored = {key_of(Path(url).name): (published, author) for url, published, author in rows if not url.startswith(("http:", "https:"))}
        skipped = {key_of(Path(url).name): reason for url, reason in conn.execute("SELECT url, reason FROM skipped")}
        stats = json.loads(conn.execute("SELECT stats FROM runs").fetchone()[0])
        conn.close()
    return stored, skipped, elapsed, stats


def timed(function: Callable[[str], str | None], keys: list[str]) -> tuple[dict[str, str | None], float]:
    """function(key) for every key; the values, and CPU ms a page."""
    started = time.process_time()
    values = {key: function(key) for key in keys}
    return values, (time.process_time() - started) * 1000 / len(keys)


def clear_caches() -> None:
    """Empty htmldate's and trafilatura's per-string caches (``lru_cache``),
    so that a method is not timed on what an earlier one left in them; the
    parser objects they cache once are kept."""
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] in ("htmldate", "trafilatura"):
            for function in vars(module).values():
                if hasattr(function, "cache_clear") and getattr(function, "__module__", None) == name and function.__name__ not in KEPT_CACHES:
                    function.cache_clear()


def day_of(value: str | None) -> str | None:
    return value[:10] if value and DAY.match(value) else None


def declared(html: str) -> list[str]:
    """What the page declares as its publication time (Sieve's own reading, as
    pipelines.extract's with_time looks at it); none if that module cannot
    be imported as it stands."""
    try:
        from pipelines.declared import declarations
        from pipelines.trafilatura_patches import load_html

        tree = load_html(html)
        return declarations(tree).published if tree is not None else []
    except Exception:
        return []


def utc_day(value: str) -> str | None:
    """The UTC day of an ISO 8601 date and time with an offset, else None."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(timezone.utc).date().isoformat()


def kind_of_value(value: str | None) -> str:
    if not value:
        return "none"
    if DATE_ONLY.match(value):
        return "date only (YYYY-MM-DD)"
    if DATETIME.match(value):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return "other"
        return "date and time with UTC offset" if moment.tzinfo is not None else "date and time, no offset (naive)"
    return "other"


def days_apart(a: str, b: str) -> int:
    return (date.fromisoformat(a) - date.fromisoformat(b)).days


def cell(value: str | None) -> str:
    return f"`{value}`" if value else "-"


def run_dates(data: Path, misses_shown: int) -> dict[str, tuple[str | None, str | None]]:
    import htmldate
    import trafilatura

    truth, pages = read_set(data)
    keys = sorted(pages)
    web = {key: truth.get(key, {}).get("url") for key in keys}
    true_day = {key: truth[key]["datePublished"][:10] for key in keys if truth.get(key, {}).get("datePublished")}
    undated = [key for key in keys if key not in true_day]
    files = {key: file_url(data, key) for key in keys}

    from crawler.items import Page
    from pipelines.extract import Extractor
    from pipelines.worker_process import StatsDelta

    extractor = Extractor(max_bytes=10**8, favor_precision=False, min_article_chars=400, max_link_density=0.5)

    def sieve_rule(key: str, url: str | None) -> str | None:
        try:
            article = extractor.extract(Page(url=url or files[key], body=pages[key].encode("utf-8"), kind="html"), StatsDelta())
        except Exception:
            return None
        return article.published_local

    def bare_date(key: str, url: str | None) -> str | None:
        document = trafilatura.bare_extraction(pages[key], url=url, with_metadata=True)
        return document.date if document else None

    # Once before timing: the first calls compile expressions and load models,
    # and dateparser (htmldate's last resort, on pages whose dates are in
    # words) compiles the expressions of every locale it tries, once per
    # process: a fresh process pays that on its first pages. Timed apart.
    trafilatura.extract_metadata(pages[keys[0]])
    trafilatura.bare_extraction(pages[keys[0]], with_metadata=True)
    _, cold_ms = timed(lambda k: htmldate.find_date(pages[k]), keys)
    _, warm_ms = timed(lambda k: htmldate.find_date(pages[k]), keys)

    in_process: list[tuple[str, Callable[[str], str | None]]] = [
        ("htmldate.find_date(html, original_date=True)", lambda k: htmldate.find_date(pages[k], original_date=True)),
        ("htmldate.find_date(html) (defaults)", lambda k: htmldate.find_date(pages[k])),
        ("trafilatura.extract_metadata(html).date", lambda k: trafilatura.extract_metadata(pages[k]).date),
        ("trafilatura.bare_extraction(html, with_metadata=True).date", lambda k: bare_date(k, None)),
        ("Sieve's rule in this process, file URL (as the crawl)", lambda k: sieve_rule(k, files[k])),
        ("htmldate.find_date(html, url=URL, original_date=True)", lambda k: htmldate.find_date(pages[k], url=web[k], original_date=True)),
        ("htmldate.find_date(html, url=URL) (defaults)", lambda k: htmldate.find_date(pages[k], url=web[k])),
        ("trafilatura.extract_metadata(html, default_url=URL).date", lambda k: trafilatura.extract_metadata(pages[k], default_url=web[k]).date),
        ("trafilatura.bare_extraction(html, url=URL, with_metadata=True).date", lambda k: bare_date(k, web[k])),
        ("Sieve's rule in this process, web URL", lambda k: sieve_rule(k, web[k])),
    ]
    results: dict[str, tuple[dict[str, str | None], float]] = {}
    for name, function in in_process:
        clear_caches()
        results[name] = timed(function, keys)

    stored, skipped, wall, stats = sieve(data / "html")
    crawl = {key: stored.get(key, (None, None))[0] for key in keys}
    # The extraction stage's CPU (trafilatura's text and metadata, the date
    # fallback, language detection), counted by the crawl itself.
    extract_us = sum(value for name, value in stats.items() if name.startswith("sieve/cpu_us/") and "extract" in name.lower())
    crawl_name = "Sieve (scrapy crawl files, stored published)"
    results = {crawl_name: (crawl, extract_us / 1000 / len(keys)), **results}

    with_url = sum(1 for key in keys if web[key] and YEAR.search(web[key]))
    print(f"\n## Publication dates: {len(keys)} pages of {data.name}, {len(true_day)} with a true day\n")
    print(f"Sieve's crawl: {wall:.1f} s wall end to end, {len(stored)} articles stored, {len(skipped)} pages skipped"
          f" ({dict(Counter(skipped.values()))}); {with_url} of the web URLs have a year in them.\n")
    print(f"| method | pages with a date | same day as truth | accuracy (same day / {len(true_day)} pages with a true day) "
          f"| same day / all {len(keys)} (undated pages right when left undated) | undated pages left undated (of {len(undated)}) | ms a page (CPU) |")
    print("|---|---|---|---|---|---|---|")
    for name, (values, ms) in results.items():
        days = {key: day_of(value) for key, value in values.items()}
        dated = sum(1 for key in keys if days[key])
        same = sum(1 for key in true_day if days[key] == true_day[key])
        left = sum(1 for key in undated if not days[key])
        ms_cell = f"{ms:.1f}" + (" (its extract stage: text too)" if name == crawl_name else "")
        print(f"| {name} | {dated} | {same} | {same / len(true_day):.3f} | {(same + left) / len(keys):.3f} | {left} | {ms_cell} |")

    rule = {key: day_of(value) for key, value in results["Sieve's rule in this process, file URL (as the crawl)"][0].items()}
    agree = sum(1 for key in keys if rule[key] == day_of(crawl[key]))
    traf = {key: day_of(v) for key, v in results["trafilatura.extract_metadata(html).date"][0].items()}
    bare = {key: day_of(v) for key, v in results["trafilatura.bare_extraction(html, with_metadata=True).date"][0].items()}
    print(f"\nhtmldate.find_date(html) over the {len(keys)} pages in a fresh process: {cold_ms:.1f} ms a page;"
          f" the next pass {warm_ms:.1f} (the table's figures are warm: dateparser compiles each locale's expressions once a process).")
    print(f"\nSieve's rule in this process gives the crawl's day on {agree} of {len(keys)} pages"
          f" (not on: {', '.join(f'{k} crawl {cell(crawl[k])} rule {cell(rule[k])}' for k in keys if rule[k] != day_of(crawl[k])) or 'none'}); "
          f"bare_extraction's date is extract_metadata's on {sum(1 for k in keys if traf[k] == bare[k])} of {len(keys)}"
          f" (not on: {', '.join(f'{k} {cell(bare[k])} against {cell(traf[k])}' for k in keys if traf[k] != bare[k]) or 'none'}).")
    if skipped:
        print(f"\nSkipped by Sieve: {', '.join(f'{k} ({r})' for k, r in sorted(skipped.items()))}.")

    # Where Sieve errs.
    hd = {key: day_of(v) for key, v in results["htmldate.find_date(html, original_date=True)"][0].items()}
    hd_url = {key: day_of(v) for key, v in results["htmldate.find_date(html, url=URL, original_date=True)"][0].items()}
    sieve_day = {key: day_of(crawl[key]) for key in keys}
    missed = [key for key in true_day if sieve_day[key] != true_day[key]]
    def miss_kind(key: str) -> str:
        if not sieve_day[key]:
            return "no date" + (f" (skipped: {skipped[key]})" if key in skipped else "")
        apart = abs(days_apart(sieve_day[key], true_day[key]))
        return "1 day off" if apart == 1 else ("2-31 days off" if apart <= 31 else "more than a month off")

    kinds = Counter(miss_kind(key) for key in missed)
    print(f"\n### Sieve's misses: {len(missed)} of {len(true_day)}\n")
    print("| kind | pages | htmldate (original_date=True, no URL) right on them |")
    print("|---|---|---|")
    for kind, count in kinds.most_common():
        right = sum(1 for key in missed if miss_kind(key) == kind and hd[key] == true_day[key])
        print(f"| {kind} | {count} | {right} |")
    print(f"\nThe first {min(misses_shown, len(missed))} (by key). declared: the publication times the page declares"
          " (meta, `<time itemprop>`, JSON-LD; Sieve's order, the first 3 distinct), each with its day in UTC when that differs.\n")
    print("| key | truth | Sieve stored | htmldate (original_date=True) | htmldate with URL | trafilatura | declared (UTC day) | URL |")
    print("|---|---|---|---|---|---|---|---|")
    for key in missed[:misses_shown]:
        values = list(dict.fromkeys(value.strip() for value in declared(pages[key])))
        shown = []
        for value in values[:3]:
            utc = utc_day(value)
            shown.append(cell(value) + (f" ({utc})" if utc and utc != value[:10] else ""))
        declared_cell = ", ".join(shown) + (f" and {len(values) - 3} more" if len(values) > 3 else "") or "-"
        url = (web[key] or "")[:70]
        print(f"| {key} | {true_day[key]} | {cell(crawl[key])} | {cell(hd[key])} | {cell(hd_url[key])} | {cell(traf[key])} | {declared_cell} | {url} |")

    # Time zones: the day as written against the day in UTC.
    offset_pages = [key for key in true_day if kind_of_value(crawl[key]) == "date and time with UTC offset"]
    local_right = sum(1 for key in offset_pages if sieve_day[key] == true_day[key])
    utc_right = sum(1 for key in offset_pages if utc_day(crawl[key]) == true_day[key])
    differ = [key for key in offset_pages if utc_day(crawl[key]) != sieve_day[key]]
    print(f"\nOf the {len(offset_pages)} pages (with a true day) where Sieve stored a time with an offset: the day as written"
          f" is the true day on {local_right}, the UTC day on {utc_right}; the two days differ on {len(differ)}"
          f" (true day = written day on {sum(1 for k in differ if sieve_day[k] == true_day[k])},"
          f" = UTC day on {sum(1 for k in differ if utc_day(crawl[k]) == true_day[k])}).")

    # What the page declares, against what Sieve stored.
    page_declared = {key: [value.strip() for value in declared(pages[key])] for key in keys}
    readable = [key for key in true_day if any(DATETIME.match(v) or DATE_ONLY.match(v) for v in page_declared[key])]
    first_iso = {key: next(v[:10] for v in page_declared[key] if DATETIME.match(v) or DATE_ONLY.match(v)) for key in readable}
    both = sum(1 for k in readable if first_iso[k] == true_day[k] and sieve_day[k] == true_day[k])
    only_declared = [k for k in readable if first_iso[k] == true_day[k] != sieve_day[k]]
    only_sieve = [k for k in readable if sieve_day[k] == true_day[k] != first_iso[k]]
    print(f"\nOf the {len(readable)} pages (with a true day) that declare a publication time in ISO 8601 extended form"
          f" (what with_time reads), Sieve's day is the true day on {sum(1 for k in readable if sieve_day[k] == true_day[k])},"
          f" the day of the first declared value on {sum(1 for k in readable if first_iso[k] == true_day[k])}"
          f" (both on {both}; only the declared value on {len(only_declared)}: {', '.join(only_declared) or '-'};"
          f" only Sieve on {len(only_sieve)}: {', '.join(only_sieve) or '-'}).")

    formats = Counter(kind_of_value(crawl[key]) for key in keys)
    print(f"\n### Sieve's stored `published`, by format ({len(keys)} pages)\n")
    print("| format | pages | same day as truth |")
    print("|---|---|---|")
    for kind in ("date only (YYYY-MM-DD)", "date and time with UTC offset", "date and time, no offset (naive)", "other", "none"):
        count = formats.get(kind, 0)
        if count or kind != "other":
            right = sum(1 for key in true_day if kind_of_value(crawl[key]) == kind and sieve_day[key] == true_day[key])
            print(f"| {kind} | {count} | {right} |")

    def why_date_only(key: str) -> str:
        values = page_declared[key]
        if not values:
            return "the page declares no publication time Sieve reads"
        if any(DATETIME.match(v) and v[:10] == crawl[key] for v in values):
            return "a time on that day is declared (with_time could not parse it)"
        if any(DATETIME.match(v) for v in values):
            return "a time is declared, on another day than the one found"
        if all(DATE_ONLY.match(v) for v in values):
            return "the page declares a day only"
        return "a time is declared in a form with_time does not read (not YYYY-MM-DDTHH:MM)"

    date_only = [key for key in keys if kind_of_value(crawl[key]) == "date only (YYYY-MM-DD)"]
    print(f"\nWhy {len(date_only)} stored values are a day only:\n")
    print("| reason | pages | same day as truth | examples of what is declared |")
    print("|---|---|---|---|")
    reasons = Counter(why_date_only(key) for key in date_only)
    for reason, count in reasons.most_common():
        members = [k for k in date_only if why_date_only(k) == reason]
        right = sum(1 for k in members if k in true_day and sieve_day[k] == true_day[k])
        examples = "; ".join(cell(page_declared[k][0]) for k in members if page_declared[k])
        print(f"| {reason} | {count} | {right} | {examples[:300] or '-'} |")
    return stored


def normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


def gold_names(entry: dict) -> list[str]:
    for field in AUTHOR_FIELDS:
        value = entry.get(field)
        if isinstance(value, str) and value.strip():
            return [value]
        if isinstance(value, list):
            names = [item if isinstance(item, str) else (item.get("name") if isinstance(item, dict) else None) for item in value]
            return [name for name in names if name and name.strip()]
    return []


def junk_reasons(value: str, gold: list[str] | None) -> list[str]:
    reasons = []
    if MONTHS.search(value):
        reasons.append("month name")
    if WEEKDAYS.search(value):
        reasons.append("weekday name")
    if re.search(r"\d", value):
        reasons.append("digit")
    if gold is not None and not any(normalise(name) in normalise(value) for name in gold):
        reasons.append("no gold name")
    if gold is None and len(value.split()) == 1:
        reasons.append("one letter" if len(value.strip()) == 1 else "one word")
    return reasons


def run_authors(stored_dates: dict[str, tuple[str | None, str | None]] | None) -> None:
    import trafilatura

    print("\n## Authors\n")
    with_gold: list[tuple[str, dict[str, list[str]]]] = []
    for name in AUTHOR_SETS:
        path = BENCH / name / "ground-truth.json"
        if not path.exists():
            print(f"- {name}: not there")
            continue
        truth = json.loads(path.read_text())
        fields = sorted({field for entry in truth.values() for field in entry})
        gold = {key: names for key, entry in truth.items() if (names := gold_names(entry))}
        print(f"- {name}: {len(truth)} pages, ground-truth fields {fields}; pages naming an author: {len(gold)}")
        if gold:
            with_gold.append((name, gold))

    if not with_gold:
        print(f"\nNo set in {BENCH} has author ground truth (no field {', '.join(AUTHOR_FIELDS)}): the share of pages whose stored"
              " author holds a gold name cannot be measured on them.")
        data = DATA
        _, pages = read_set(data)
        stored = stored_dates if stored_dates is not None else sieve(data / "html")[0]
        started = time.process_time()
        traf = {key: trafilatura.extract_metadata(html).author for key, html in pages.items()}
        ms = (time.process_time() - started) * 1000 / len(pages)
        sieve_authors = {key: stored.get(key, (None, None))[1] for key in pages}
        named = {key: value for key, value in sieve_authors.items() if value}
        same = sum(1 for key in pages if (sieve_authors[key] or None) == (traf[key] or None))
        print(f"\nWithout gold, on the {len(pages)} pages of {data.name}: Sieve stored an author on {len(named)},"
              f" trafilatura.extract_metadata gives one on {sum(1 for v in traf.values() if v)} ({ms:.1f} ms a page);"
              f" the two are the same (both none included) on {same}.")
        flagged = [(key, value, junk_reasons(value, None)) for key, value in sorted(named.items())]
        flagged = [row for row in flagged if row[2]]
        print(f"\nSieve's stored authors there that look like junk on their face (month or weekday name, digit, one word: often an agency, not necessarily wrong): {len(flagged)}\n")
        print("| key | Sieve's author | trafilatura's author | why |")
        print("|---|---|---|---|")
        for key, value, reasons in flagged:
            print(f"| {key} | {value} | {traf[key] or '-'} | {', '.join(reasons)} |")
        return

    for name, gold in with_gold:
        data = BENCH / name
        _, pages = read_set(data)
        stored = stored_dates if (name == DATA.name and stored_dates is not None) else sieve(data / "html")[0]
        keys = sorted(key for key in gold if key in pages)
        started = time.process_time()
        traf = {key: trafilatura.extract_metadata(pages[key]).author for key in keys}
        ms = (time.process_time() - started) * 1000 / len(keys)
        print(f"\n### {name}: {len(keys)} pages that name an author\n")
        print("| method | pages with an author | holds a gold name | share of pages | ms a page |")
        print("|---|---|---|---|---|")
        junk: list[tuple[str, str, str, list[str]]] = []
        for method, values in (("Sieve (stored author)", {k: stored.get(k, (None, None))[1] for k in keys}), ("trafilatura.extract_metadata(html).author", traf)):
            held = sum(1 for k in keys if values[k] and any(normalise(g) in normalise(values[k]) for g in gold[k]))
            ms_cell = "-" if method.startswith("Sieve") else f"{ms:.1f}"
            print(f"| {method} | {sum(1 for k in keys if values[k])} | {held} | {held / len(keys):.3f} | {ms_cell} |")
            if method.startswith("Sieve"):
                junk = [(k, values[k], "; ".join(gold[k]), r) for k in keys if values[k] and (r := junk_reasons(values[k], gold[k]))]
        print(f"\nSieve's authors with a month or weekday name, a digit, or no gold name: {len(junk)}\n")
        print("| key | Sieve's author | gold | why |")
        print("|---|---|---|---|")
        for key, value, names, reasons in junk:
            print(f"| {key} | {value} | {names} | {', '.join(reasons)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DATA, help="the date benchmark (default: %(default)s)")
    parser.add_argument("--misses", type=int, default=15, help="how many of Sieve's date misses to list (default: %(default)s)")
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--dates-only", action="store_true", help="dates only")
    only.add_argument("--authors-only", action="store_true", help="authors only")
    args = parser.parse_args()
    stored = None
    if not args.authors_only:
        stored = run_dates(args.data, args.misses)
    if not args.dates_only:
        run_authors(stored if args.data.resolve() == DATA.resolve() else None)


if __name__ == "__main__":
    main()
