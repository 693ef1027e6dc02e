"""The ``SettingsCheck`` extension: every ``SIEVE_*`` setting is checked
when the crawl starts, before anything is opened or fetched, and a wrong one
is one line naming it and what it takes (exit status 2). So is a
``SIEVE_*`` name Sieve does not know (a typo would otherwise be ignored).
With ``SIEVE_REDIS_URL``, its server must answer (one line, exit status 1).

:data:`CHECKS` is the one list of what each setting takes; its default is in
``settings/``, its meaning in ``docs/settings.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from crawler.errors import SettingError, SieveError

if TYPE_CHECKING:
    from typing_extensions import Self

    from scrapy.crawler import Crawler
    from scrapy.settings import BaseSettings


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
    if str(value).strip().lower() not in {"true", "false", "1", "0", "yes", "no", "on", "off"}:
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

CHECKS: dict[str, Callable[[Any], None]] = {
    "SIEVE_DB": text,
    "SIEVE_MAX_BYTES": whole(1),
    "SIEVE_SITEMAP_MAX_DEPTH": whole(0),
    "SIEVE_MAX_LINKS_PER_PAGE": whole(1),
    "SIEVE_CONTACT": text,
    "SIEVE_WORKERS": whole(0, none_allowed=True),
    "SIEVE_EXTRACT_TIMEOUT": number(0, above=True),
    "SIEVE_FAVOR_PRECISION": boolean,
    "SIEVE_BOILERPLATE_PATTERNS": lambda value: None,  # checked whole by patterns_setting
    "SIEVE_REPEATS_ENABLED": boolean,
    "SIEVE_REPEAT_THRESHOLD": FRACTION,
    "SIEVE_REPEAT_MIN_WORDS": whole(1),
    "SIEVE_REPEATS_ENABLED": boolean,
    "SIEVE_CROSS_DEDUP_ENABLED": boolean,
    "SIEVE_NEAR_DUP_THRESHOLD": FRACTION,
    "SIEVE_NEAR_DUP_CONTAINMENT": number(0, maximum=1),
    "SIEVE_NEAR_DUP_MIN_WORDS": whole(1),
    "SIEVE_SITE_BOILERPLATE_MIN": whole(2),
    "SIEVE_SITE_BOILERPLATE_SIMILARITY": FRACTION,
    "SIEVE_STORE_BATCH": whole(1),
    "SIEVE_STORE_FLUSH_SECONDS": number(0, above=True),
    "SIEVE_MIN_ARTICLE_CHARS": whole(0),
    "SIEVE_MAX_LINK_DENSITY": number(0, maximum=1),
    "SIEVE_CHECK_OG_TYPE": boolean,
    "SIEVE_FILES_FOLLOW_LINKS": boolean,
    "SIEVE_DB_BUSY_TIMEOUT": number(0),
    "SIEVE_INCREMENTAL": boolean,
    "SIEVE_PROGRESS_INTERVAL": number(0),
    "SIEVE_TRACKING_PARAMETERS": names,
    "SIEVE_REDIS_URL": text,
    "SIEVE_CLUSTER_IDLE_SECONDS": number(0),
    "SIEVE_STREAM_MAX_BACKLOG": whole(1),
    "SIEVE_WARC_OUTPUT": text,
    "SIEVE_WARC_MAX_BYTES": whole(1),
}


def check_settings(settings: BaseSettings) -> None:
    for name in sorted(settings.attributes):
        if name.startswith("SIEVE_") and name not in CHECKS:
            raise SettingError(f"{name} is not a Sieve setting (see docs/settings.md)")
    for name, check in CHECKS.items():
        value = settings.get(name)
        try:
            check(value)
        except ValueError as exc:
            raise SettingError(f"{name} takes {exc}, not {value!r}") from None
    patterns_setting(settings)
    if settings.get("SIEVE_REDIS_URL"):
        check_redis(settings.get("SIEVE_REDIS_URL"))


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
