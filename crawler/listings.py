"""Lists of links: URL list files, sitemaps and news feeds, each read into
:class:`Entry` items (a URL and the date the list gives for it, if any)."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

from lxml import etree

from crawler.errors import SpiderArgumentError
from crawler.scrapy_internals import NewsSitemap

XML_PARSER = etree.XMLParser(recover=True, remove_comments=True, resolve_entities=False, no_network=True)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass
class Entry:
    """A link found in a sitemap or a feed, with the date it gives, if any."""

    url: str
    date: str | None = None


def read_url_list(path: str) -> list[str]:
    """Lines of a file (``-`` for standard input), without comments and blank lines."""
    if path == "-":
        lines = sys.stdin.read().splitlines()
    else:
        try:
            lines = Path(path).expanduser().read_text(encoding="utf-8-sig").splitlines()
        except FileNotFoundError:
            raise SpiderArgumentError(f"no such file: {path}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise SpiderArgumentError(f"cannot read {path}: {exc}") from None
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def parse_time(text: str | None) -> datetime | None:
    """A W3C (sitemap, Atom, WARC-Date) or RFC 822 (RSS) date, as an aware
    datetime (UTC when it names no zone), or None."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def iso_date(text: str | None) -> str | None:
    """A W3C (sitemap, Atom) or RFC 822 (RSS) date as UTC ISO 8601, or None."""
    moment = parse_time(text)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def date_argument(name: str, value: str | None) -> str | None:
    """A ``YYYY-MM-DD`` spider argument, checked."""
    if value is None:
        return None
    try:
        if not _DATE.match(value):
            raise ValueError
        date.fromisoformat(value)
    except ValueError:
        raise SpiderArgumentError(f"{name} must be a date as YYYY-MM-DD, not {value!r}") from None
    return value


def sitemap_entries(body: bytes) -> tuple[str, list[Entry]]:
    """``("sitemapindex" | "urlset" | "", entries)``; news sitemaps give their
    publication date when there is no ``lastmod``."""
    try:
        sitemap = NewsSitemap(body)
    except (etree.XMLSyntaxError, StopIteration):  # not XML; nothing at all
        return "", []
    if sitemap.type not in ("sitemapindex", "urlset"):
        return "", []
    try:
        entries = [
            Entry(element["loc"], iso_date(element.get("lastmod") or element.get("publication_date")))
            for element in sitemap
            if element.get("loc")
        ]
    except etree.XMLSyntaxError:
        return "", []
    return sitemap.type, entries


def parse_xml(body: bytes) -> etree._Element | None:
    try:
        return etree.fromstring(body, parser=XML_PARSER)
    except etree.XMLSyntaxError:
        return None


def _local(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def _child_text(element: etree._Element, *names: str) -> str | None:
    """Text of the first descendant with one of these local names (namespace ignored)."""
    for node in element.iter():
        if _local(node.tag) in names and node.text and node.text.strip():
            return node.text.strip()
    return None


def feed_entries(body: bytes, base_url: str) -> list[Entry] | None:
    """Item links of an RSS 2.0, Atom or RDF (RSS 1.0) feed; None if it is none of them."""
    root = parse_xml(body)
    if root is None:
        return None
    kind = _local(root.tag)
    if kind == "rss":
        items = [e for e in root.iter() if _local(e.tag) == "item"]
    elif kind == "RDF":
        items = [e for e in root if _local(e.tag) == "item"]
    elif kind == "feed":
        items = [e for e in root if _local(e.tag) == "entry"]
    else:
        return None
    entries = []
    for item in items:
        link = None
        if kind == "feed":
            for node in item:
                if _local(node.tag) == "link" and node.get("rel", "alternate") == "alternate" and node.get("href"):
                    link = node.get("href")
                    break
        else:
            link = next((n.text.strip() for n in item if _local(n.tag) == "link" and n.text and n.text.strip()), None)
            if link is None:
                guid = next((n for n in item if _local(n.tag) == "guid"), None)
                if guid is not None and guid.get("isPermaLink", "true") == "true" and guid.text:
                    link = guid.text.strip()
        if link:
            date = _child_text(item, "pubDate", "updated", "published", "date", "modified")
            entries.append(Entry(urljoin(base_url, link), iso_date(date)))
    return entries
