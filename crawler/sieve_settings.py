"""Every ``SIEVE_*`` setting declared once (:data:`SETTINGS`: name, default,
what it takes, what it does), and their check: a wrong value, or a
``SIEVE_*`` name Sieve does not know (a typo would otherwise be ignored),
is one line naming it and what it takes (exit status 2). So is one of
Scrapy's own numeric or boolean settings given a value of another kind.
``scrapy crawl`` checks them as soon as it has read its command line,
before anything is built; the ``SettingsCheck`` extension checks them again
for a crawl started another way. With ``SIEVE_REDIS_URL``, its server must
answer (one line, exit status 1). The defaults reach Scrapy through
``settings/``; what each setting does is told in ``docs/settings.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from crawler.errors import SettingError, SieveError

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings
    from typing_extensions import Self


def whole(minimum: int, *, none_allowed: bool = False) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        if none_allowed and value in (None, ""):
            return
        if isinstance(value, bool) or not _is_int(value):
            raise ValueError(f"a whole number{' (or empty)' if none_allowed else ''}")
        if int(value) < minimum:
            raise ValueError(f"a whole number of at least {minimum}")

    return check


def number(minimum: float, *, above: bool = False, maximum: float | None = None) -> Callable[[Any], None]:
    def check(value: Any) -> None:
        wanted = f"a number {'above' if above else 'of at least'} {minimum:g}" + (f" and at most {maximum:g}" if maximum is not None else "")
        try:
            x = float(value)
        except (TypeError, ValueError):
            raise ValueError(wanted) from None
        if x < minimum or (above and x == minimum) or (maximum is not None and x > maximum) or x != x:
            raise ValueError(wanted)

    return check


def boolean(value: Any) -> None:
    # What Scrapy's Settings.getbool reads.
    if value not in (True, False, 0, 1) and str(value) not in {"0", "1", "True", "False", "true", "false"}:
        raise ValueError("True or False")


def text(value: Any) -> None:
    if value is not None and not isinstance(value, str):
        raise ValueError("text")


def names(value: Any) -> None:
    if isinstance(value, str):
        return  # Scrapy splits a command-line value at commas
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError("a list of names")


def patterns_setting(settings: BaseSettings) -> list[str]:
    """``SIEVE_BOILERPLATE_PATTERNS``: a list (in a settings file), or on the
    command line a JSON list or one pattern per line; never split at commas,
    which regular expressions contain."""
    value = settings.get("SIEVE_BOILERPLATE_PATTERNS") or []
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith("["):
            try:
                value = json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise SettingError(f"SIEVE_BOILERPLATE_PATTERNS: not a JSON list ({exc})") from None
        else:
            value = [line for line in stripped.splitlines() if line.strip()]
    if not isinstance(value, (list, tuple)) or not all(isinstance(p, str) for p in value):
        raise SettingError("SIEVE_BOILERPLATE_PATTERNS takes a list of regular expressions")
    for pattern in value:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise SettingError(f"SIEVE_BOILERPLATE_PATTERNS: {pattern!r} is not a regular expression ({exc})") from None
    return list(value)


def _is_int(value: Any) -> bool:
    try:
        int(str(value).strip())
    except ValueError:
        return False
    return True


FRACTION = number(0, above=True, maximum=1)
ANY = lambda value: None  # noqa: E731 - checked whole elsewhere


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    #: Raises ValueError naming what the setting takes.
    check: Callable[[Any], None]
    #: What it does, in one line; docs/settings.md has its row (tested).
    doc: str


SETTINGS = (
    Setting("SIEVE_DB", "sieve.db", text, "the SQLite database the articles go to, created when missing"),
    Setting("SIEVE_MAX_BYTES", 10 * 1024 * 1024, whole(1), "documents larger than this, decompressed, are skipped unread"),
    Setting("SIEVE_SITEMAP_MAX_DEPTH", 3, whole(0), "levels of sitemap indexes followed below the sitemap given"),
    Setting("SIEVE_MAX_LINKS_PER_PAGE", 1000, whole(1), "the site spider follows at most this many links of one page"),
    Setting(
        "SIEVE_TRACKING_PARAMETERS",
        [
            "utm_*", "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid", "_ga",
            "phpsessid", "jsessionid", "sessionid", "sid",
        ],  # fmt: skip
        names,
        "query parameters (tracking, session ids) left out of every URL fetched and stored",
    ),
    Setting("SIEVE_CONTACT", "", text, "a URL or e-mail address for site owners, sent in the User-Agent"),
    Setting("SIEVE_POLITE", True, boolean, "off: no delays and no per-site limit, for your own site or a mirror"),
    Setting("SIEVE_WORKERS", None, whole(0, none_allowed=True), "worker processes for the document stages; None: one per CPU"),
    Setting("SIEVE_EXTRACT_TIMEOUT", 60.0, number(0, above=True), "seconds a worker may spend on one page"),
    Setting("SIEVE_FAVOR_PRECISION", False, boolean, "trafilatura's favor_precision"),
    Setting("SIEVE_BOILERPLATE_PATTERNS", [], ANY, "regular expressions; a paragraph matching one in full is removed"),
    Setting("SIEVE_REPEATS_ENABLED", True, boolean, "the repeat stage removes duplication artefacts, on or off"),
    Setting("SIEVE_REPEAT_THRESHOLD", 0.8, FRACTION, "estimated Jaccard similarity at which a paragraph repeats another"),
    Setting("SIEVE_REPEAT_MIN_WORDS", 8, whole(1), "shorter paragraphs are compared only as exact normalised text"),
    Setting("SIEVE_CROSS_DEDUP_ENABLED", True, boolean, "cross-document dedup on or off"),
    Setting("SIEVE_NEAR_DUP_THRESHOLD", 0.8, FRACTION, "Jaccard similarity at which an article duplicates a stored one"),
    Setting("SIEVE_NEAR_DUP_CONTAINMENT", 0.7, number(0, maximum=1), "share of the shorter text found in the longer"),
    Setting("SIEVE_NEAR_DUP_MIN_WORDS", 80, whole(1), "words the shorter text needs for the containment rule"),
    Setting("SIEVE_SITE_BOILERPLATE_MIN", 3, whole(2), "articles of one source a paragraph must be in to be its boilerplate"),
    Setting("SIEVE_SITE_BOILERPLATE_SIMILARITY", 0.9, FRACTION, "Jaccard similarity of the same paragraph for site boilerplate"),
    Setting("SIEVE_STORE_BATCH", 100, whole(1), "documents per write transaction"),
    Setting("SIEVE_STORE_FLUSH_SECONDS", 1.0, number(0, above=True), "longest time a write transaction stays open"),
    Setting("SIEVE_MIN_ARTICLE_CHARS", 400, whole(0), "site, sitemap: fewer extracted characters is not an article"),
    Setting("SIEVE_MAX_LINK_DENSITY", 0.5, number(0, maximum=1), "site, sitemap: more link text than this share is not an article"),
    Setting("SIEVE_CHECK_OG_TYPE", True, boolean, "site, sitemap: an og:type naming no article needs other evidence"),
    Setting("SIEVE_FILES_FOLLOW_LINKS", False, boolean, "files: follow symbolic links out of the folder read"),
    Setting("SIEVE_DB_BUSY_TIMEOUT", 60.0, number(0), "seconds a write waits for another process's write transaction"),
    Setting("SIEVE_PROGRESS_INTERVAL", 10.0, number(0), "seconds between progress lines; 0: none"),
    Setting("SIEVE_REDIS_URL", "", text, "a Redis or Valkey URL: the crawl is a cluster crawler or its writer"),
    Setting("SIEVE_CLUSTER_IDLE_SECONDS", 10.0, number(0), "how long an idle cluster crawler or writer waits before closing"),
    Setting("SIEVE_STREAM_MAX_BACKLOG", 10000, whole(1), "cluster crawlers pause while this many documents wait"),
    Setting("SIEVE_WARC_OUTPUT", "", text, "a folder the web spiders write every response to, as .warc.gz"),
    Setting("SIEVE_WARC_MAX_BYTES", 1024**3, whole(1), "a WARC file being written is closed past this many bytes"),
    Setting("SIEVE_INCREMENTAL", True, boolean, "conditional requests, and no reprocessing of what did not change"),
)
BY_NAME = {setting.name: setting for setting in SETTINGS}


def defaults() -> dict[str, Any]:
    """Every SIEVE_* setting's default (for settings/__init__.py)."""
    return {setting.name: setting.default for setting in SETTINGS}


def check_settings(settings: BaseSettings) -> None:
    for name in sorted(settings.attributes):
        if name.startswith("SIEVE_") and name not in BY_NAME:
            raise SettingError(f"{name} is not a Sieve setting (see docs/settings.md)")
    for setting in SETTINGS:
        value = settings.get(setting.name)
        try:
            setting.check(value)
        except ValueError as exc:
            raise SettingError(f"{setting.name} takes {exc}, not {value!r}") from None
    check_scrapy_settings(settings)
    patterns_setting(settings)
    if settings.get("SIEVE_REDIS_URL"):
        check_redis(settings.get("SIEVE_REDIS_URL"))


def check_scrapy_settings(settings: BaseSettings) -> None:
    """Scrapy's own settings whose default is a number or a boolean, when
    given another value, read as Scrapy will read them: Scrapy would fail on
    a mistyped one with a traceback, from wherever it first reads it. (A
    whole-number default is checked as a number: DOWNLOAD_DELAY's is 0.)"""
    # Here, not at the top: the worker processes import this module (with
    # pipelines.clean) and must not import Scrapy.
    from scrapy.settings import SETTINGS_PRIORITIES, default_settings

    for name, default in vars(default_settings).items():
        if not name.isupper() or not isinstance(default, (bool, int, float)):
            continue
        if settings.getpriority(name) in (None, SETTINGS_PRIORITIES["default"]):
            continue
        try:
            settings.getbool(name) if isinstance(default, bool) else settings.getfloat(name)
        except (TypeError, ValueError):
            wanted = "True or False" if isinstance(default, bool) else "a number"
            raise SettingError(f"{name} takes {wanted}, not {settings.get(name)!r}") from None


def check_redis(url: str) -> None:
    """The cluster's Redis server answers; else one line, before the
    engine starts (past that point Scrapy reports it as a traceback)."""
    try:
        import redis
        import scrapy_redis  # noqa: F401
    except ImportError:
        raise SettingError("SIEVE_REDIS_URL needs scrapy-redis: pip install -r requirements-cluster.txt") from None
    try:
        redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5).ping()
    except (redis.RedisError, ValueError) as exc:
        raise SieveError(f"cannot reach Redis at SIEVE_REDIS_URL ({url}): {exc}") from None


class SettingsCheck:
    def __init__(self, settings: BaseSettings):
        check_settings(settings)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.settings)
