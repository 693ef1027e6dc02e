"""Scrapy settings for Sieve, and Sieve's own defaults (the SIEVE_* names).

Every setting can be changed per run with ``-s NAME=value``.
"""

from pathlib import Path

from scrapy.settings import default_settings

from crawler.sieve_settings import defaults

BOT_NAME = "sieve"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"
# scrapy genspider's templates: Sieve's "sieve" template (the default).
TEMPLATES_DIR = str(Path(__file__).resolve().parent.parent / "crawler" / "templates")

# The stages, in order: each takes the item the previous one returned. The
# leading document stages run in worker processes (see SIEVE_WORKERS).
ITEM_PROCESSOR = "pipelines.workers.ParallelItemProcessor"
ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.clean.CleanPipeline": 200,
    "pipelines.repeats.RepeatPipeline": 300,
    "pipelines.identity.ArticleIdentityPipeline": 350,
    "pipelines.cross_dedup.CrossDedupPipeline": 400,
    "pipelines.store.StorePipeline": 900,
}

# Shared components, reached with crawler.get_extension(): the database
# (connection, write transaction, schema), the decisions of incremental
# runs, and the run record (runs row, error counters, exit status).
EXTENSIONS = {
    # First: every SIEVE_* setting checked before anything is opened.
    "crawler.sieve_settings.SettingsCheck": 10,
    "crawler.storage.database.Database": 100,
    "crawler.incremental.Incremental": 110,
    # Before RunRecord: its last memory sample is in the stats the run's row keeps.
    "crawler.progress.Progress": 115,
    "crawler.runs.RunRecord": 120,
    "crawler.frontier_idle.SharedFrontierIdle": 140,
    "crawler.shutdown.PromptShutdown": 150,
}

# Components Sieve never uses, left out of Scrapy's defaults rather than set
# to None above: Scrapy imports every class named in EXTENSIONS or
# DOWNLOADER_MIDDLEWARES, None ones too, and these imports (twisted.conch,
# aiohttp, tldextract) were a large part of every start. Telnet, remote control and
# cookies are off (below); crawler.guards has Sieve's robots.txt middleware.
_LEFT_OUT = {
    "scrapy.extensions.telnet.TelnetConsole",
    "scrapy.extensions.remote_control.RemoteControl",
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",
    "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware",
}
EXTENSIONS_BASE = {k: v for k, v in default_settings.EXTENSIONS_BASE.items() if k not in _LEFT_OUT}
DOWNLOADER_MIDDLEWARES_BASE = {
    k: v for k, v in default_settings.DOWNLOADER_MIDDLEWARES_BASE.items() if k not in _LEFT_OUT
}

# A response yields one page (and, for site crawls, links): Scrapy starts
# this many tasks per response, so a high value only costs time.
CONCURRENT_ITEMS = 8

LOG_LEVEL = "INFO"
# A scheduled run's log: what Sieve did, with the summary last. Scrapy's
# stats are in the runs table (runs.stats), and logged at DEBUG; so are the
# versions of the libraries and the lists of components (crawler.commands.crawl).
STATS_DUMP = False
LOG_VERSIONS: list[str] = []
FEED_EXPORT_ENCODING = "utf-8"
# -o writes one record per stored article (crawler.items.ArticleRecord).
FEED_EXPORTERS = {"csv": "crawler.exports.CsvExporter"}
# Both open a port that runs code sent to it; a scheduled crawler needs neither.
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False

# Manners on the web. The User-Agent is "Sieve/<version> (+SIEVE_CONTACT)"
# unless USER_AGENT is set. AutoThrottle adapts the delay to how fast each
# site answers; there are never more than two requests at once to one site.
ROBOTSTXT_OBEY = True
ROBOTSTXT_USER_AGENT = "Sieve"
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
DOWNLOAD_DELAY = 0.5
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 2
DOWNLOAD_TIMEOUT = 30
# The web spiders set DOWNLOAD_MAXSIZE to SIEVE_MAX_BYTES (only -s overrides it).
RETRY_ENABLED = True
RETRY_TIMES = 2
COOKIES_ENABLED = False
# @url_argument: the URL a contract checks is the one given with -a.
SPIDER_CONTRACTS = {"crawler.contracts.UrlArgumentContract": 10}
SPIDER_MIDDLEWARES = {
    # Any spider's responses and dict items become pages (docs/spiders.md,
    # "Writing your own spider"). Last on the way out, after Scrapy's own.
    "crawler.spider_items.PageItemMiddleware": 10,
}
DOWNLOADER_MIDDLEWARES = {
    # First of all: fetched content never makes Sieve read local files.
    "crawler.guards.WebOnlyMiddleware": 50,
    # Scrapy's, mended (see its docstring), in Scrapy's place.
    "crawler.scrapy_internals.RobotsTxtMiddleware": 100,
    # Before the retry and redirect middlewares (550, 600), after robots.txt.
    "crawler.incremental.ConditionalRequestMiddleware": 500,
    # Sees redirects before Scrapy's redirect middleware follows them.
    "crawler.guards.RedirectLoopMiddleware": 610,
    # Sees responses as received, before Scrapy's decompression (590) and
    # redirects (600): what SIEVE_WARC_OUTPUT archives.
    "crawler.warc_records.WarcArchiveMiddleware": 620,
    # Last: cluster crawlers take a per-site slot for the whole cluster.
    "crawler.shared_politeness.SharedPolitenessMiddleware": 990,
}

# --- Sieve ---------------------------------------------------------------

# Sieve's own settings, declared with what each takes and does in
# crawler/sieve_settings.py. To change one for every run, set it below this
# line (SIEVE_DB = "news.db").
globals().update(defaults())
