"""URL helpers shared by the spiders and the pipeline stages."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit


def host_of(url: str) -> str:
    """The host of ``url``, lower case, without a leading ``www.``."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def is_web_url(url: str) -> bool:
    """An http(s) URL with a host and, if it names one, a valid port."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError when out of range
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def without_tracking(url: str, names: Iterable[str]) -> str:
    """``url`` without the query parameters that only say where a reader
    came from (``utm_*``, ``fbclid``...: ``names``, ``*`` matching any
    characters), so that one article has one URL. Other parameters keep
    their order; a URL with none of these comes back unchanged."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    patterns = [name.lower() for name in names]
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not any(fnmatchcase(k.lower(), p) for p in patterns)]
    if len(kept) == len(pairs):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept)))


def same_site(a: str, b: str) -> bool:
    return host_of(a) == host_of(b) != ""
