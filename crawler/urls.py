"""URL helpers shared by the spiders and the pipeline stages."""

from __future__ import annotations

from collections.abc import Iterable
from fnmatch import fnmatchcase
from urllib.parse import unquote_plus, urlsplit, urlunsplit


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
    characters), so that one article has one URL. Every other byte of the
    query stays as it was (its order, its escapes, a ``;`` inside a value):
    decoding and encoding it again would ask for another URL."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    patterns = [name.lower() for name in names]
    pieces = parts.query.split("&")
    kept = [
        piece for piece in pieces
        if not any(fnmatchcase(unquote_plus(piece.partition("=")[0]).lower(), p) for p in patterns)
    ]  # fmt: skip
    if len(kept) == len(pieces):
        return url
    return urlunsplit(parts._replace(query="&".join(kept)))


def same_site(a: str, b: str) -> bool:
    return host_of(a) == host_of(b) != ""
