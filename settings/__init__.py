"""Scrapy settings for Sieve, and Sieve's own defaults (the SIEVE_* names).

Every setting can be changed per run with ``-s NAME=value``.
"""

from scrapy.settings import default_settings

BOT_NAME = "sieve"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
COMMANDS_MODULE = "crawler.commands"

# The stages, in order: each takes the item the previous one returned. The
# leading document stages run in worker processes (see SIEVE_WORKERS).
ITEM_PROCESSOR = "pipelines.workers.ParallelItemProcessor"
ITEM_PIPELINES = {
    "pipelines.extract.ExtractPipeline": 100,
    "pipelines.clean.CleanPipeline": 200,
    "pipelines.repeats.RepeatPipeline": 300,
    "pipelines.identity.ArticleIdentityPipeline": 350,
    "pipelines.neardup.CrossDedupPipeline": 400,
    "pipelines.store.StorePipeline": 900,
}

# Shared components, reached with crawler.get_extension(): the database
# (connection, write transaction, schema), the decisions of incremental
# runs, and the run record (runs row, error counters, exit status).
EXTENSIONS = {
    # First: every SIEVE_* setting checked before anything is opened.
    "crawler.checks.SettingsCheck": 10,
    "crawler.database.Database": 100,
    "crawler.incremental.Incremental": 110,
    # Before RunRecord: its last memory sample is in the stats the run's row keeps.
    "crawler.progress.Progress": 115,
    "crawler.runs.RunRecord": 120,
    "crawler.cluster.SharedFrontierIdle": 140,
}

# Components Sieve never uses, left out of Scrapy's defaults rather than set
# to None above: Scrapy imports every class named in EXTENSIONS or
# DOWNLOADER_MIDDLEWARES, None ones too, and these imports (twisted.conch,
# aiohttp, tldextract) took 0.35 s of every start. Telnet, remote control and
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
    "crawler.warc.WarcArchiveMiddleware": 620,
    # Last: cluster crawlers take a per-site slot for the whole cluster.
    "crawler.cluster.SharedPolitenessMiddleware": 990,
}

# --- Sieve ---------------------------------------------------------------

#: The SQLite database the articles go to (created when missing).
SIEVE_DB = "sieve.db"
#: Documents larger than this (after decompression) are skipped, not read.
SIEVE_MAX_BYTES = 10 * 1024 * 1024
#: How many levels of sitemap indexes the sitemap spider follows below the
#: sitemap it is given; deeper ones are skipped (sitemap-too-deep).
SIEVE_SITEMAP_MAX_DEPTH = 3
#: The site spider follows at most this many links from one page; the rest
#: are counted (sieve/refused/too-many-links) and left.
SIEVE_MAX_LINKS_PER_PAGE = 1000
#: Query parameters that only track where a reader came from, or which
#: visit this is (session ids): left out of every URL Sieve fetches and
#: stores, so one article has one row ("*" matches any characters; case
#: does not count).
SIEVE_TRACKING_PARAMETERS = [
    "utm_*", "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_ga",
    "phpsessid", "jsessionid", "sessionid", "sid",
]  # fmt: skip
#: A URL or e-mail address for site owners, sent in the User-Agent.
SIEVE_CONTACT = ""

#: Worker processes for extraction, cleaning and MinHash signatures; None
#: means one per CPU, 0 runs every stage in the crawl's own process.
SIEVE_WORKERS = None
#: A worker that takes longer than this on one page is replaced, and the
#: page skipped (extraction-timeout).
SIEVE_EXTRACT_TIMEOUT = 60.0

#: Passed to trafilatura: fewer stray lines, at the risk of losing some text.
SIEVE_FAVOR_PRECISION = False
#: Extra regular expressions; a paragraph that matches one of them in full
#: (case-insensitive) is removed wherever it stands, with reason "pattern".
#: On the command line: a JSON list, or one pattern per line.
SIEVE_BOILERPLATE_PATTERNS: list[str] = []

#: The repeat stage removes paragraphs an article prints again by accident
#: (False: it removes nothing, and still signs paragraphs for dedup).
SIEVE_REPEATS_ENABLED = True
#: A paragraph is a repeat of an earlier one in the same article when the
#: estimated Jaccard similarity of their shingles reaches this.
SIEVE_REPEAT_THRESHOLD = 0.8
#: Paragraphs with fewer words than this are removed only as exact repeats.
SIEVE_REPEAT_MIN_WORDS = 8
#: The repeat stage removes duplication artefacts, on or off; off, it still
#: leaves the signatures and keys dedup needs, and removes nothing.
SIEVE_REPEATS_ENABLED = True

#: Cross-document dedup (near-duplicate articles, site boilerplate) on or off.
SIEVE_CROSS_DEDUP_ENABLED = True
#: An article is a near-duplicate of a stored one at this Jaccard similarity
#: of their shingles (exact, after LSH finds the candidates).
SIEVE_NEAR_DUP_THRESHOLD = 0.8
#: ...or when at least this share of the shorter text's shingles are in the
#: longer one (0: this containment rule is off)...
SIEVE_NEAR_DUP_CONTAINMENT = 0.7
#: ...and the shorter text has at least this many words.
SIEVE_NEAR_DUP_MIN_WORDS = 80
#: A paragraph near-identical in this many articles of one source (the new
#: one included) is that site's boilerplate...
SIEVE_SITE_BOILERPLATE_MIN = 3
#: ...where near-identical means this Jaccard similarity (short paragraphs:
#: identical once normalised).
SIEVE_SITE_BOILERPLATE_SIMILARITY = 0.9

#: Writes are committed in batches of this many documents...
SIEVE_STORE_BATCH = 100
#: ...and no write transaction stays open longer than this many seconds.
SIEVE_STORE_FLUSH_SECONDS = 1.0

#: Site crawls and sitemaps store a page only if it reads as an article:
#: at least this many characters of extracted text...
SIEVE_MIN_ARTICLE_CHARS = 400
#: ...of which at most this share is the text of links (listing pages are
#: mostly headlines that link to articles).
SIEVE_MAX_LINK_DENSITY = 0.5
#: ...and whose og:type, when it names no article, is borne out by a declared
#: publication time or by prose with little link text (False: og:type is not
#: read).
SIEVE_CHECK_OG_TYPE = True
#: files: follow symbolic links that lead out of the folder read (links
#: inside it are followed either way; each file and folder is read once).
SIEVE_FILES_FOLLOW_LINKS = False
#: How long a write waits for another process's write transaction.
SIEVE_DB_BUSY_TIMEOUT = 60.0

#: A progress line this often, in seconds, while a crawl runs; 0: none.
SIEVE_PROGRESS_INTERVAL = 10.0

#: A Redis or Valkey URL (redis://host:6379/0): crawler processes share one
#: frontier there (pip install -r requirements-cluster.txt). Empty: none.
SIEVE_REDIS_URL = ""
#: With a shared frontier, a crawler whose queue is empty waits this long
#: for other crawlers to add requests before it closes; so does the writer
#: (scrapy crawl stream) whose stream is empty, unless -a keep_running=true.
SIEVE_CLUSTER_IDLE_SECONDS = 10.0
#: Cluster crawlers pause when this many documents wait for the writer.
SIEVE_STREAM_MAX_BACKLOG = 10000

#: A folder: the web spiders write every response they download there, as
#: .warc.gz files (scrapy crawl warc reads them back). Empty: none.
SIEVE_WARC_OUTPUT = ""
#: A WARC file is closed and a new one begun past this many bytes.
SIEVE_WARC_MAX_BYTES = 1024**3

#: Incremental runs: conditional requests for stored articles, and no
#: reprocessing of documents that have not changed since the last run.
SIEVE_INCREMENTAL = True
