"""Scrapy settings for Sieve, and Sieve's own defaults (the SIEVE_* names).

Every setting can be changed per run with ``-s NAME=value``.
"""

BOT_NAME = "sieve"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# The stages, in order: each takes the item the previous one returned.
ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.clean.CleanPipeline": 200,
    "pipelines.repeats.RepeatPipeline": 300,
    "pipelines.store.StorePipeline": 900,
}

LOG_LEVEL = "INFO"
FEED_EXPORT_ENCODING = "utf-8"
# Both open a port that runs code sent to it; a scheduled crawler needs neither.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# --- Sieve ---------------------------------------------------------------

#: The SQLite database the articles go to (created when missing).
SIEVE_DB = "sieve.db"
#: Documents larger than this (after decompression) are skipped, not read.
SIEVE_MAX_BYTES = 10 * 1024 * 1024

#: Passed to trafilatura: fewer stray lines, at the risk of losing some text.
SIEVE_FAVOR_PRECISION = False
#: Extra regular expressions; a paragraph that matches one of them in full
#: (case-insensitive) is removed wherever it stands, with reason "pattern".
SIEVE_BOILERPLATE_PATTERNS: list[str] = []

#: A paragraph is a repeat of an earlier one in the same article when the
#: estimated Jaccard similarity of their shingles reaches this.
SIEVE_REPEAT_THRESHOLD = 0.8
#: Paragraphs with fewer words than this are removed only as exact repeats.
SIEVE_REPEAT_MIN_WORDS = 8

#: Writes are committed in batches of this many documents...
SIEVE_STORE_BATCH = 100
#: ...and no write transaction stays open longer than this many seconds.
SIEVE_STORE_FLUSH_SECONDS = 1.0
