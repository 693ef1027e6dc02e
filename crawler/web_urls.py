"""URL helpers shared by the spiders and the pipeline stages."""

from __future__ import annotations

import re
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


DEFAULT_PORTS = {"http": 80, "https": 443}
# A session id as a path parameter (Java servlets): /story;jsessionid=A1B2
SESSION_PATH_PARAMETER = re.compile(r";jsessionid=[^/?#]*", re.IGNORECASE)


def key_url(url: str, tracking: Iterable[str]) -> str:
    """What one page is fetched and stored under: ``url`` without tracking
    parameters (:func:`without_tracking`) nor a ``;jsessionid=`` path
    parameter, its host without a trailing dot and without the scheme's
    default port (``news.example:80``, ``news.example.`` are
    ``news.example``)."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if hostport.startswith("["):  # an IPv6 address: [::1]:8080
        host, _, port = hostport.partition("]")
        host, port = host + "]", port.removeprefix(":")
    else:
        host, _, port = hostport.partition(":")
        host = host.rstrip(".")
    if port.isdigit() and int(port) == DEFAULT_PORTS.get(parts.scheme.lower()):
        port = ""
    netloc = f"{userinfo}{at}{host}" + (f":{port}" if port else "")
    path = SESSION_PATH_PARAMETER.sub("", parts.path)
    if (netloc, path) != (parts.netloc, parts.path):
        url = urlunsplit(parts._replace(netloc=netloc, path=path))
    return without_tracking(url, tracking)


def same_site(a: str, b: str) -> bool:
    return host_of(a) == host_of(b) != ""
